// SHA-256 lives in the Hashing target (below every layer, so Triggers can sign webhooks with it).
// Re-exported here so `import Compiler` keeps giving its users `SHA256` (graph and manifest hashes).
@_exported import Hashing
