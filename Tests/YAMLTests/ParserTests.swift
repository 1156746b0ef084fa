import Diagnostics
import JSON
import Testing
@testable import YAML

@Suite struct ParserTests {
    @Test func simpleMapping() throws {
        let documents = try YAMLParser.parse("a: 1\nb: [x, y]\n")
        #expect(documents.count == 1)
    }
}
