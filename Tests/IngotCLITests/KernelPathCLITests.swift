// The int8 kernel path from the command line: `ingot bench --kernel-path` and INGOT_KERNEL_PATH
// (for `bench`, `run` and `ingot-run`) refuse unknown paths and paths this CPU lacks with exit
// 64 and a message naming the value and the paths the CPU has; every bench record (table,
// JSON, Markdown) names the path it ran on and the CPU flags.
import Foundation
import XCTest
import IngotCore
import IngotTestSupport

final class KernelPathCLITests: XCTestCase {
    let paths = ["portable", "avx2", "avx2-vnni", "avx512bw", "avx512-vnni"]

    func testUnknownOrMissingPathsAreUsageErrors() throws {
        let flag = try runIngot(["bench", "/nonexistent.ingot", "--kernel-path", "avx9"])
        XCTAssertEqual(flag.status, 64, flag.stderr)
        XCTAssertTrue(flag.stderr.hasPrefix("ingot: error: --kernel-path: 'avx9' is not a kernel path; expected one of portable, avx2, avx2-vnni, avx512bw, avx512-vnni (this CPU has portable"),
                      flag.stderr)
        for (tool, arguments) in [("ingot", ["bench", "/nonexistent.ingot"]), ("ingot", ["run", "/nonexistent.ingot", "--text", "x"]),
                                  ("ingot-run", ["/nonexistent.ingot", "--text", "x"])] {
            let r = try runBuiltProduct(tool, arguments, environment: ["INGOT_KERNEL_PATH": "avx9"])
            XCTAssertEqual(r.status, 64, "\(tool) \(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("INGOT_KERNEL_PATH: 'avx9' is not a kernel path") && r.stderr.contains("this CPU has portable"), r.stderr)
        }
        // Each known path: either this CPU has it (then the missing file is the error) or it is refused by name.
        for path in paths {
            let r = try runIngot(["bench", "/nonexistent.ingot", "--kernel-path", path])
            if r.status == 64 {
                XCTAssertTrue(r.stderr.contains("--kernel-path: '\(path)' is not available on this CPU; it has portable"), r.stderr)
                XCTAssertNotEqual(path, "portable")
            } else {
                XCTAssertEqual(r.status, 66, "\(path): \(r.stderr)")
            }
        }
    }

    func testBenchRecordsTheKernelPathAndCPUFlags() throws {
        let model = try requireModel(TestPaths.miniLMDir)
        let dir = try TempDirectory.make("kernel-path")
        defer { try? FileManager.default.removeItem(at: dir) }
        let artifact = dir.appendingPathComponent("m.ingot").path
        XCTAssertEqual(try runIngot(["build", model.path, "-o", artifact, "-q"]).status, 0)
        let common = ["bench", artifact, "--seq", "8", "--runs", "2", "--warmup", "0", "--threads", "1"]
        let json = try runIngot(common + ["--kernel-path", "portable", "--format", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let report = try JSONValue.parse(json.stdout)
        let records = try XCTUnwrap(report["measurements"]?.array)
        XCTAssertFalse(records.isEmpty)
        var flags: [String] = []
        for record in records {
            XCTAssertEqual(record["kernel_path"]?.string, "portable")
            flags = try XCTUnwrap(record["cpu_flags"]?.array).compactMap(\.string)
        }
        let known = ["avx2", "fma", "avx512bw", "avx512vnni", "avxvnni"]
        XCTAssertTrue(flags.allSatisfy(known.contains), "\(flags)")

        // Without the flag: the environment's path, else the fastest; the table and Markdown name it too.
        let env = try runIngot(common, environment: ["INGOT_KERNEL_PATH": "portable"])
        XCTAssertEqual(env.status, 0, env.stderr)
        let lines = env.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].contains("kernel"), lines[0])
        XCTAssertTrue(lines[2].contains(" portable "), lines[2])
        XCTAssertTrue(lines.contains("cpu flags: " + (flags.isEmpty ? "none" : flags.joined(separator: " "))), env.stdout)
        let markdown = try runIngot(common + ["--kernel-path", "portable", "--format", "markdown"])
        XCTAssertEqual(markdown.status, 0, markdown.stderr)
        XCTAssertTrue(markdown.stdout.hasPrefix("| case | threads | kernel | p50 ms |"), markdown.stdout)
        XCTAssertTrue(markdown.stdout.contains("| portable |") && markdown.stdout.contains("- cpu flags: "), markdown.stdout)
        if flags.contains("avx2") {
            // Several paths in one process: one record each, in the order given.
            let both = try runIngot(common + ["--kernel-path", "avx2,portable", "--format", "json"])
            XCTAssertEqual(both.status, 0, both.stderr)
            let records = try JSONValue.parse(both.stdout)["measurements"]?.array ?? []
            XCTAssertEqual(records.compactMap { $0["kernel_path"]?.string }, ["avx2", "portable"])
            XCTAssertEqual(records.compactMap { $0["samples_ms"]?.array?.count }, [2, 2])
        }
        let badList = try runIngot(common + ["--kernel-path", "portable,"])
        XCTAssertEqual(badList.status, 64, badList.stderr)
        XCTAssertTrue(badList.stderr.contains("--kernel-path: '' is not a kernel path"), badList.stderr)
    }
}
