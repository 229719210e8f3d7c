// The exit-code map on IngotError.Kind: every kind's code, and the README "Exit codes" table
// agreeing with it. The front ends' use of it is tested in IngotCLITests.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport

final class ExitCodeTests: XCTestCase {
    func testEveryKindHasItsDocumentedExitCode() {
        for kind in IngotError.Kind.allCases {
            let expected: Int32
            switch kind {
            case .invalidArgument: expected = 64
            case .format: expected = 65
            case .checksum: expected = 65
            case .signature: expected = 65
            case .verification: expected = 65
            case .shape: expected = 65
            case .io: expected = 66
            case .unsupported: expected = 69
            case .internal: expected = 70
            case .output: expected = 74
            }
            XCTAssertEqual(kind.exitCode, expected, kind.rawValue)
        }
    }

    /// The codes of the README table: every kind's code has a row, and every row but 0
    /// (success) and 1 (`ingot diff --fail-if`) is some kind's code.
    func testReadmeExitCodeTableAgreesWithTheKinds() throws {
        let readme = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try XCTUnwrap(readme.components(separatedBy: "### Exit codes\n").dropFirst().first, "README has an \"Exit codes\" section")
        var rows: [Int32: String] = [:]
        for line in section.split(separator: "\n").prefix(while: { !$0.hasPrefix("#") }) where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2, let code = Int32(cells[0]) else { continue }
            XCTAssertNil(rows[code], "code \(code) has one row")
            rows[code] = cells[1]
        }
        let kindCodes = Set(IngotError.Kind.allCases.map(\.exitCode))
        XCTAssertEqual(Set(rows.keys), kindCodes.union([0, 1]), "README exit codes: \(rows)")
        XCTAssertEqual(rows[0], "success")
        XCTAssertEqual(rows[1]?.hasPrefix("`ingot diff`"), true)
    }
}
