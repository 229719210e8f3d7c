// A minimal safetensors writer for tests: builds small, possibly deliberately wrong,
// checkpoints on disk. Not used by the product (Ingot never writes safetensors).

import Foundation

public struct TestTensor {
    public var name: String
    /// safetensors dtype string: "F32", "F16", "I64", ...
    public var dtype: String
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(name: String, dtype: String = "F32", shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// An F32 tensor filled from `value(i)`.
    public static func f32(_ name: String, _ shape: [Int], _ value: (Int) -> Float = { Float($0 % 7) * 0.01 }) -> TestTensor {
        let n = shape.reduce(1, *)
        var bytes = [UInt8]()
        bytes.reserveCapacity(n * 4)
        for i in 0..<n { withUnsafeBytes(of: value(i).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return TestTensor(name: name, dtype: "F32", shape: shape, bytes: bytes)
    }
}

public enum SafetensorsWriter {
    /// Writes tensors contiguously in the given order with an 8-byte aligned header.
    public static func write(_ tensors: [TestTensor], to url: URL, metadata: [String: String]? = nil) throws {
        var entries: [String] = []
        if let metadata {
            let body = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
            entries.append("\"__metadata__\":{\(body)}")
        }
        var offset = 0
        for t in tensors {
            entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for t in tensors { data.append(contentsOf: t.bytes) }
        try data.write(to: url)
    }
}

public enum TempDirectory {
    /// A new empty folder under the system temp directory.
    public static func make(_ prefix: String = "ingot-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
