// The `ingot` command tree (swift-argument-parser).
import ArgumentParser

public struct IngotCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ingot",
        abstract: "Compile, optimize and run transformer checkpoints.")
    public init() {}
}
