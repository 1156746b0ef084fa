import Daemon

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The daemon: a thin shell over the Daemon library (docs/daemon.md). No thread may start before
// `DaemonMain.main` detaches, so nothing else runs here.
signal(SIGPIPE, SIG_IGN)
exit(DaemonMain.main(Array(CommandLine.arguments.dropFirst())))
