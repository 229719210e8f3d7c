// The toolchain version recorded in artifacts and reports.
public enum IngotVersion {
    public static let string = "0.1.0"
    public static let artifactFormat = "ingot-v1"
}
