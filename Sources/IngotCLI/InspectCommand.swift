// `ingot inspect`: what is in a checkpoint or an artifact, as text or JSON.

import ArgumentParser
import IngotCompiler
import IngotCore

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a checkpoint (.gguf, .safetensors, PyTorch .bin, .onnx, model folder) or a .ingot artifact.")

    @Argument(help: "The file or folder to describe.")
    var path: String

    @Flag(help: "Print the artifact's graph as textual IR instead of the tensor table.")
    var graph = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Check every checksum of an artifact (whole-file digest, sections, tensors).")
    var verify = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let inspection = try reportingErrors { try Inspector.inspect(path, verify: verify) }
        if graph && inspection.graph == nil {
            Terminal.error("error: \(path): --graph needs a .ingot artifact (checkpoints have no graph until built)")
            throw ExitCode(64)
        }
        if json {
            print(inspection.json(showGraph: graph).serialized(pretty: true))
        } else {
            print(inspection.text(showGraph: graph), terminator: "")
        }
    }
}
