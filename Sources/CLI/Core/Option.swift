import Diagnostics

// The declaration side of the command core: a command (or a group of options several commands
// share) is a struct of typed properties, and a table of `Option`s says which spellings set
// which property. The parser, the unknown-option message and `--help` all read that one table,
// so an option exists once: there is no string key to look it up by (docs/architecture.md,
// "Adding a command").

/// A usage error (exit 2) with what to do.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var help: String?

    public init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }

    public var description: String { message }
}

/// A closed set of words an option takes (`-o text|json`). `aliases` are other words for a case
/// (`-o table` means `-o text`).
public protocol OptionChoice: RawRepresentable, CaseIterable, Sendable where RawValue == String {
    static var aliases: [String: Self] { get }
}

extension OptionChoice {
    public static var aliases: [String: Self] { [:] }

    /// `text|json`, as help and errors show the choices.
    static var choiceList: String { allCases.map(\.rawValue).joined(separator: "|") }
}

extension DiagnosticFormat: OptionChoice {}

/// Options several commands share as one unit (for example `--format` and `--color`): a struct
/// of typed properties with its own declaration table. A command includes it with
/// `.group(\.diagnostics)`.
public protocol OptionGroup: Sendable {
    init()
    static var options: [Option<Self>] { get }
}

/// One option of `Root`: its spellings, what its value is called, its help line, and how the
/// value is stored into `Root`. Built with the static functions below (`.flag`, `.value`,
/// `.values`, `.choice`, `.integer`, `.set`, `.group`) and the shared ones of SharedOptions.swift.
public struct OptionSpec<Root> {
    /// All spellings, short first: `["-o", "--output"]`.
    public let names: [String]
    /// What the value is called in help (`FILE`, `text|json`); nil for a flag.
    public let valueName: String?
    public let help: String
    /// Stores one occurrence's value (`""` for a flag).
    let store: (inout Root, String) throws(UsageError) -> Void
    /// The default as help shows it (`text`), read from a freshly made `Root`.
    let defaultText: (Root) -> String?

    /// The long spelling that names the option in messages (`--output`).
    public var displayName: String { Self.displayName(names) }

    static func displayName(_ names: [String]) -> String { names.last(where: { $0.hasPrefix("--") }) ?? names.last ?? "" }

    /// The help line of the option: `-o, --output text|json`.
    var label: String { names.joined(separator: ", ") + (valueName.map { " " + $0 } ?? "") }

    func lifted<Outer>(_ path: WritableKeyPath<Outer, Root>) -> OptionSpec<Outer> {
        let store = self.store
        let defaultText = self.defaultText
        return OptionSpec<Outer>(
            names: names, valueName: valueName, help: help,
            store: { (outer: inout Outer, value: String) throws(UsageError) in try store(&outer[keyPath: path], value) },
            defaultText: { defaultText($0[keyPath: path]) })
    }
}

/// An entry of a declaration table: one option, or a group of options included whole.
public struct Option<Root> {
    let specs: [OptionSpec<Root>]

    private static func one(
        _ names: [String], value: String?, help: String, defaultText: @escaping (Root) -> String? = { _ in nil },
        store: @escaping (inout Root, String) throws(UsageError) -> Void
    ) -> Option {
        Option(specs: [OptionSpec(names: names, valueName: value, help: help, store: store, defaultText: defaultText)])
    }

    /// A flag: present or not (`--force`).
    public static func flag(_ path: WritableKeyPath<Root, Bool>, _ names: String..., help: String) -> Option {
        one(names, value: nil, help: help) { root, _ in root[keyPath: path] = true }
    }

    /// A flag that sets a property to a fixed value (`--json` for `-o json`).
    public static func set<Value>(_ path: WritableKeyPath<Root, Value>, to value: Value, _ names: String..., help: String) -> Option {
        one(names, value: nil, help: help) { root, _ in root[keyPath: path] = value }
    }

    /// An option with one value; given twice, the last one counts (`--goal G`).
    public static func value(_ path: WritableKeyPath<Root, String?>, _ names: String..., value: String, help: String) -> Option {
        one(names, value: value, help: help) { root, text in root[keyPath: path] = text }
    }

    /// A repeatable option: every value, in order (`-t FILE -t FILE`).
    public static func values(_ path: WritableKeyPath<Root, [String]>, _ names: String..., value: String, help: String) -> Option {
        one(names, value: value, help: help + " (repeatable)") { root, text in root[keyPath: path].append(text) }
    }

    /// One of a closed set of words; help shows the choices and the default.
    public static func choice<Choice: OptionChoice>(_ path: WritableKeyPath<Root, Choice>, _ names: String..., help: String) -> Option {
        choice(path, names, help: help)
    }

    static func choice<Choice: OptionChoice>(_ path: WritableKeyPath<Root, Choice>, _ names: [String], help: String) -> Option {
        let aliases = Choice.aliases.keys.sorted().map { "`\($0)` is `\(Choice.aliases[$0]?.rawValue ?? "")`" }
        let displayName = OptionSpec<Root>.displayName(names)
        return one(
            names, value: Choice.choiceList, help: help + (aliases.isEmpty ? "" : "; " + aliases.joined(separator: ", ")),
            defaultText: { $0[keyPath: path].rawValue }
        ) { (root: inout Root, text: String) throws(UsageError) in
            guard let chosen = Choice(rawValue: text) ?? Choice.aliases[text] else {
                throw UsageError(
                    "`\(text)` is not a valid value for `\(displayName)`",
                    help: "use one of: " + Choice.allCases.map(\.rawValue).joined(separator: ", "))
            }
            root[keyPath: path] = chosen
        }
    }

    /// A whole number, 0 or more (`--tail N`).
    public static func integer(_ path: WritableKeyPath<Root, Int?>, _ names: String..., value: String, help: String) -> Option {
        let displayName = OptionSpec<Root>.displayName(names)
        return one(names, value: value, help: help) { (root: inout Root, text: String) throws(UsageError) in
            guard let number = Int(text), number >= 0 else {
                throw UsageError("`\(displayName)` needs a whole number, got `\(text)`")
            }
            root[keyPath: path] = number
        }
    }

    /// A duration: `2` (seconds), `2s`, `500ms`, `1.5s`, `1m` (`--interval`, `--timeout`).
    static func duration(_ path: WritableKeyPath<Root, DurationText?>, _ names: String..., help: String) -> Option {
        let displayName = OptionSpec<Root>.displayName(names)
        return one(names, value: "DURATION", help: help) { (root: inout Root, text: String) throws(UsageError) in
            guard let duration = DurationText(text), (10...86_400_000).contains(duration.milliseconds) else {
                throw UsageError(
                    "`\(displayName)` needs a duration, got `\(text)`",
                    help: "e.g. `2` or `2s` (seconds), `500ms`, `1m`; between 10ms and a day")
            }
            root[keyPath: path] = duration
        }
    }

    /// Every option of a shared group, stored into the group's property.
    public static func group<Group: OptionGroup>(_ path: WritableKeyPath<Root, Group>) -> Option {
        Option(specs: Group.options.flatMap(\.specs).map { $0.lifted(path) })
    }
}

/// Where a command's positional arguments go (its usage text says what they are). A command
/// without one takes no positional arguments.
public struct Positionals<Root> {
    let path: WritableKeyPath<Root, [String]>

    public init(_ path: WritableKeyPath<Root, [String]>) {
        self.path = path
    }
}
