import Control
import Dashboard

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `orchestrator dashboard`: the address of the web dashboard the daemon serves (`orchestratord
/// --http`), with its token; opened in a browser when the machine has one.
struct DashboardCommand: Command {
    static let name = "dashboard"
    static let summary = "print (and open) the address of the daemon's web dashboard, with its token"
    static let usage = """
        Usage: orchestrator dashboard [--no-open] [--data-dir DIR]

        The daemon serves a read-only web dashboard when started with `--http 127.0.0.1:PORT`
        (docs/dashboard.md). This prints its address with the token (read from DATA/dashboard.json,
        which only you can read) and, on a desktop session ($DISPLAY or $WAYLAND_DISPLAY set and
        xdg-open installed), opens it in the browser; --no-open only prints. Exit 1 when no daemon
        serves the data directory, or it serves no dashboard.
        """
    var noOpen = false
    var dataDirectory: String?

    static var options: [Option<Self>] {
        [.flag(\.noOpen, "--no-open", help: "only print the address, never start a browser"), .dataDirectory(\.dataDirectory)]
    }

    func run(context: CommandContext) -> ExitStatus {
        let location = DataDirectory.locate(dataDirectory, context: context)
        guard case .success = DaemonControl.status(dataDirectory: location.path) else {
            context.stderr.write(
                "error: no daemon is running for \(location.path), so no dashboard is served\n"
                    + "  help: start one with `orchestratord --http 127.0.0.1:8080 --data-dir \(location.path)`\n")
            return .findings
        }
        guard let access = DashboardAccess.read(dataDirectory: location.path) else {
            context.stderr.write(
                "error: the daemon of \(location.path) serves no dashboard\n"
                    + "  help: stop it (`orchestrator daemon stop`) and start it again with `orchestratord --http 127.0.0.1:8080`\n")
            return .findings
        }
        context.stdout.write(access.urlWithToken + "\n")
        if !noOpen, let opener = DashboardCommand.browserOpener(context.environment) {
            var pid: pid_t = 0
            let words = [opener, access.urlWithToken]
            var argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
            defer { for word in argv { free(word) } }
            if posix_spawn(&pid, opener, nil, nil, &argv, environ) == 0 {
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        return .success
    }

    /// `xdg-open` from PATH when a desktop session is there to show a browser; nil otherwise.
    static func browserOpener(_ environment: [String: String]) -> String? {
        guard environment["DISPLAY"]?.isEmpty == false || environment["WAYLAND_DISPLAY"]?.isEmpty == false else { return nil }
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = String(directory) + "/xdg-open"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
