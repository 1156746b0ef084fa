import Diagnostics

/// A refusal found while parsing, kept tiny (a problem code and byte offsets, returned in
/// registers) so the recursive parse functions keep small stack frames; `YAMLParser` turns it into
/// a `YAMLError` with lines, columns, message and help (see YAMLErrors.swift).
struct ParseFailure: Error {
    enum Problem: UInt8 {
        case tooDeep, tooManyNodes
        case commentWithoutSpace, unexpectedContent, duplicateKey, tabIndentation, contentAfterDocument
        case directiveWithoutDocumentEnd, directivesWithoutDocument, unsupportedDirective, unsupportedYAMLVersion
        case repeatedYAMLDirective, directiveInsideDocument
        case sequenceNotAllowed, mappingNotAllowed, explicitKey, emptyKey, complexKey, multiLineKey
        case anchor, alias, tag, reservedIndicator, unexpectedFlowIndicator
        case overIndentedList, overIndentedMapping, expectedSequenceItem, sequenceItemInMapping, expectedKey, missingColon
        case unterminatedDoubleQuote, unterminatedSingleQuote, documentMarkerInDoubleQuote, documentMarkerInSingleQuote
        case underIndentedQuoted, underIndentedFlowList, underIndentedFlowMapping
        case surrogateEscape, invalidCodePoint, invalidEscape, shortHexEscape
        case invalidBlockHeader, textAfterBlockHeader, overIndentedLeadingBlankLine
        case unterminatedFlowList, unterminatedFlowMapping, expectedFlowListSeparator, expectedFlowMappingSeparator
        case flowKeyOnOtherLine, blockEntryInFlow, blockScalarInFlow, emptyFlowEntry
        case mismatchedListBracket, mismatchedMappingBracket, unexpectedCharacterInFlow
    }

    /// What `unexpectedContent` follows (its `detail`).
    enum ContentContext: Int {
        case documentEnd, yamlDirective, flowList, flowMapping, quotedString

        var words: String {
            switch self {
            case .documentEnd: return "`...`"
            case .yamlDirective: return "the `%YAML 1.2` directive"
            case .flowList: return "a flow list"
            case .flowMapping: return "a flow mapping"
            case .quotedString: return "a quoted string"
            }
        }
    }

    var problem: Problem
    /// The offending bytes `start..<end` (for unterminated constructs: from the opening to where
    /// the input ran out).
    var start: Int
    var end: Int
    /// A number the message needs: a limit, a column, an opening's offset, a code point...
    var detail: Int

    init(_ problem: Problem, _ start: Int, _ end: Int, _ detail: Int = 0) {
        self.problem = problem
        self.start = start
        self.end = max(start, end)
        self.detail = detail
    }

    static func placementCode(_ placement: BlockPlacement) -> Int {
        switch placement {
        case .ownLine: return 0
        case .afterSequenceDash: return 1
        case .afterMappingColon: return 2
        case .afterDocumentStart: return 3
        }
    }

    /// The `YAMLError` users see, with locations computed from `input`.
    func error(in input: UnsafeBufferPointer<UInt8>) -> YAMLError {
        func location(_ offset: Int) -> SourceLocation { EncodingCheck.locate(input, offset: offset) }
        func lineEnd(_ offset: Int) -> Int {
            var index = max(0, min(offset, input.count))
            while index < input.count, input[index] != Byte.lineFeed, input[index] != Byte.carriageReturn { index += 1 }
            return index
        }
        /// `start..<end` cut at the end of `start`'s line.
        func onLine() -> SourceRange {
            SourceRange(start: location(start), end: location(max(start, min(end, lineEnd(start)))))
        }
        func spanning() -> SourceRange { SourceRange(start: location(start), end: location(end)) }
        func text(_ from: Int, _ to: Int) -> String {
            let lower = max(0, min(from, input.count))
            let upper = max(lower, min(to, input.count))
            return String(decoding: UnsafeBufferPointer(rebasing: input[lower..<upper]), as: UTF8.self)
        }
        let first = start < input.count ? input[start] : Byte.space
        let placement: BlockPlacement
        switch detail {
        case 1: placement = .afterSequenceDash(tab: true)
        case 2: placement = .afterMappingColon
        case 3: placement = .afterDocumentStart
        default: placement = .ownLine
        }
        switch problem {
        case .tooDeep: return .tooDeep(detail, at: onLine())
        case .tooManyNodes: return .tooManyNodes(detail, at: onLine())
        case .commentWithoutSpace: return .commentWithoutSpace(onLine())
        case .unexpectedContent:
            return .unexpectedContent(after: (ContentContext(rawValue: detail) ?? .quotedString).words, onLine())
        case .duplicateKey: return .duplicateKey(text(start, end), first: location(detail), range: spanning())
        case .tabIndentation: return .tabIndentation(onLine())
        case .contentAfterDocument: return .contentAfterDocument(onLine(), rootStart: detail >= 0 ? location(detail) : nil)
        case .directiveWithoutDocumentEnd: return .directiveWithoutDocumentEnd(onLine())
        case .directivesWithoutDocument: return .directivesWithoutDocument(onLine())
        case .unsupportedDirective: return .unsupportedDirective(text(start + 1, end), onLine())
        case .unsupportedYAMLVersion: return .unsupportedYAMLVersion(text(detail, end), onLine())
        case .repeatedYAMLDirective: return .repeatedYAMLDirective(onLine())
        case .directiveInsideDocument: return .directiveInsideDocument(onLine())
        case .sequenceNotAllowed: return .sequenceNotAllowed(placement, onLine())
        case .mappingNotAllowed: return .mappingNotAllowed(placement, onLine())
        case .explicitKey: return .explicitKey(onLine())
        case .emptyKey: return .emptyKey(onLine())
        case .complexKey: return .complexKey(spanning())
        case .multiLineKey: return .multiLineKey(spanning())
        case .anchor: return .anchor(onLine())
        case .alias: return .alias(onLine())
        case .tag: return .tag(onLine())
        case .reservedIndicator: return .reservedIndicator(first, onLine())
        case .unexpectedFlowIndicator: return .unexpectedFlowIndicator(first, onLine())
        case .overIndentedList: return .overIndented(onLine(), expectedColumn: detail, what: "list")
        case .overIndentedMapping: return .overIndented(onLine(), expectedColumn: detail, what: "mapping")
        case .expectedSequenceItem: return .expectedSequenceItem(onLine())
        case .sequenceItemInMapping: return .sequenceItemInMapping(onLine())
        case .expectedKey: return .expectedKey(spanning())
        case .missingColon: return .missingColon(spanning())
        case .unterminatedDoubleQuote: return .unterminatedQuote(isDouble: true, opened: location(start), at: location(end))
        case .unterminatedSingleQuote: return .unterminatedQuote(isDouble: false, opened: location(start), at: location(end))
        case .documentMarkerInDoubleQuote: return .documentMarkerInQuote(isDouble: true, opened: location(detail), onLine())
        case .documentMarkerInSingleQuote: return .documentMarkerInQuote(isDouble: false, opened: location(detail), onLine())
        case .underIndentedQuoted: return .underIndentedContinuation(onLine(), minimum: detail, what: "quoted string")
        case .underIndentedFlowList: return .underIndentedContinuation(onLine(), minimum: detail, what: "flow list")
        case .underIndentedFlowMapping: return .underIndentedContinuation(onLine(), minimum: detail, what: "flow mapping")
        case .surrogateEscape: return .surrogateEscape(onLine())
        case .invalidCodePoint: return .invalidCodePoint(UInt32(truncatingIfNeeded: detail), onLine())
        case .invalidEscape: return .invalidEscape(text(start + 1, end), onLine())
        case .shortHexEscape: return .shortHexEscape(digits: detail, onLine())
        case .invalidBlockHeader: return .invalidBlockHeader(onLine())
        case .textAfterBlockHeader: return .textAfterBlockHeader(onLine())
        case .overIndentedLeadingBlankLine: return .overIndentedLeadingBlankLine(onLine(), contentIndent: detail)
        case .unterminatedFlowList: return .unterminatedFlow(isSequence: true, opened: location(start), at: spanning())
        case .unterminatedFlowMapping: return .unterminatedFlow(isSequence: false, opened: location(start), at: spanning())
        case .expectedFlowListSeparator: return .expectedFlowSeparator(isSequence: true, opened: location(detail), onLine())
        case .expectedFlowMappingSeparator: return .expectedFlowSeparator(isSequence: false, opened: location(detail), onLine())
        case .flowKeyOnOtherLine: return .flowKeyOnOtherLine(onLine())
        case .blockEntryInFlow: return .blockEntryInFlow(onLine())
        case .blockScalarInFlow: return .blockScalarInFlow(onLine())
        case .emptyFlowEntry: return .emptyFlowEntry(onLine())
        case .mismatchedListBracket: return .mismatchedBracket(first, isSequence: true, opened: location(detail), onLine())
        case .mismatchedMappingBracket: return .mismatchedBracket(first, isSequence: false, opened: location(detail), onLine())
        case .unexpectedCharacterInFlow: return .unexpectedCharacterInFlow(first, onLine())
        }
    }
}
