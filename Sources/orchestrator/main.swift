import CLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A closed pipe (`orchestrator parse x | head`) must end the process quietly, not kill it with SIGPIPE.
signal(SIGPIPE, SIG_IGN)
let status = Orchestrator.main(Array(CommandLine.arguments.dropFirst()), context: .process())
exit(status.rawValue)
