import Crypto
import Foundation

/// A backup file: a POSIX tar archive (ustar), so that `tar tf` lists it
/// and `tar xOf FILE configuration.env` shows a part, written and read by
/// Mailseal itself. Only regular files with the names a backup has are
/// read back (no links, no paths outside the folder they go to); every
/// file's SHA-256 is in the manifest, the last entry.
struct BackupArchiveWriter {
  private let handle: FileHandle
  /// What has been written: name, size, SHA-256 (hex).
  private(set) var files: [BackupManifest.File] = []
  private var written: Int64 = 0
  let path: String

  /// A new file at `path` (mode 0600); an existing file is never
  /// overwritten.
  init(path: String) throws(BackupFailure) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard descriptor >= 0 else {
      throw BackupFailure(
        errno == EEXIST
          ? "\(path) exists already: name a new file (a backup never overwrites one)."
          : "\(path) cannot be written: \(String(cString: strerror(errno))).")
    }
    self.path = path
    handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
  }

  /// Adds `data` as `name`.
  mutating func add(_ name: String, data: Data) throws {
    try header(name, size: Int64(data.count))
    try handle.write(contentsOf: data)
    files.append(
      .init(
        name: name, size: Int64(data.count),
        sha256: SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()))
    try pad(Int64(data.count))
  }

  /// Adds the file at `source` as `name`, a MiB at a time.
  mutating func add(_ name: String, contentsOf source: String) throws {
    let attributes = try FileManager.default.attributesOfItem(atPath: source)
    let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
    guard let input = FileHandle(forReadingAtPath: source) else {
      throw BackupFailure("\(source) cannot be read.")
    }
    defer { try? input.close() }
    try header(name, size: size)
    var hash = SHA256()
    var copied: Int64 = 0
    while copied < size, let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
      let part = chunk.prefix(Int(min(Int64(chunk.count), size - copied)))
      hash.update(data: part)
      try handle.write(contentsOf: part)
      copied += Int64(part.count)
    }
    guard copied == size else {
      throw BackupFailure("\(source) changed while it was copied.")
    }
    files.append(
      .init(
        name: name, size: size,
        sha256: hash.finalize().map { String(format: "%02x", $0) }.joined()))
    try pad(size)
  }

  /// Ends the archive (two empty blocks) and puts it on disk.
  func finish() throws {
    try handle.write(contentsOf: Data(count: 1024))
    try handle.synchronize()
    try handle.close()
  }

  private mutating func pad(_ size: Int64) throws {
    let rest = Int(size % 512)
    if rest != 0 { try handle.write(contentsOf: Data(count: 512 - rest)) }
  }

  private func header(_ name: String, size: Int64) throws {
    try handle.write(contentsOf: Data(TarHeader.make(name: name, size: size, modified: Date())))
  }
}

/// The 512-byte ustar header.
enum TarHeader {
  static func make(name: String, size: Int64, modified: Date) -> [UInt8] {
    var block = [UInt8](repeating: 0, count: 512)
    func put(_ text: String, at offset: Int, width: Int) {
      for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
    }
    func octal(_ value: Int64, at offset: Int, width: Int) {
      put(String(value, radix: 8).leftPadded(to: width - 1), at: offset, width: width - 1)
    }
    put(name, at: 0, width: 100)
    octal(0o600, at: 100, width: 8)
    octal(0, at: 108, width: 8)
    octal(0, at: 116, width: 8)
    if size < 0o77777777777 {
      octal(size, at: 124, width: 12)
    } else {
      // Larger than 8 GiB: base-256 (GNU tar, libarchive read it).
      block[124] = 0x80
      for index in 0..<8 { block[135 - index] = UInt8(truncatingIfNeeded: size >> (8 * index)) }
    }
    octal(Int64(modified.timeIntervalSince1970), at: 136, width: 12)
    block[156] = UInt8(ascii: "0")
    put("ustar", at: 257, width: 6)
    put("00", at: 263, width: 2)
    put("mailseal", at: 265, width: 32)
    put("mailseal", at: 297, width: 32)
    // The checksum: the header's bytes with its own field as spaces.
    for index in 148..<156 { block[index] = 0x20 }
    let sum = block.reduce(0) { $0 + Int64($1) }
    put(String(sum, radix: 8).leftPadded(to: 6), at: 148, width: 6)
    block[154] = 0
    block[155] = 0x20
    return block
  }

  /// The name and size of the entry a header describes; nil at the end
  /// (an empty block).
  static func read(_ block: [UInt8]) throws(BackupFailure) -> (
    name: String, type: UInt8, size: Int64
  )? {
    guard block.count == 512 else {
      throw BackupFailure("The backup file ends in the middle of an entry.")
    }
    if block.allSatisfy({ $0 == 0 }) { return nil }
    var checked = block
    for index in 148..<156 { checked[index] = 0x20 }
    let sum = checked.reduce(0) { $0 + Int64($1) }
    guard let stored = number(block[148..<156]), stored == sum else {
      throw BackupFailure("The backup file is damaged (a header's checksum is wrong).")
    }
    let nameBytes = block[0..<100].prefix { $0 != 0 }
    let prefixBytes = block[345..<500].prefix { $0 != 0 }
    var name = String(decoding: nameBytes, as: UTF8.self)
    if !prefixBytes.isEmpty { name = String(decoding: prefixBytes, as: UTF8.self) + "/" + name }
    let size: Int64
    if block[124] & 0x80 != 0 {
      size = block[128..<136].reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    } else if let parsed = number(block[124..<136]) {
      size = parsed
    } else {
      throw BackupFailure("The backup file is damaged (an entry's size is unreadable).")
    }
    return (name, block[156], size)
  }

  static func number(_ field: ArraySlice<UInt8>) -> Int64? {
    let text = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
      .trimmingCharacters(in: .whitespaces)
    return Int64(text, radix: 8)
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}

/// Reads a backup file into a folder: only the names a backup has, only
/// regular files, each hashed as it is written.
enum BackupArchiveReader {
  /// The largest manifest or configuration (1 MiB) and key file (1 MiB).
  static let smallFileLimit: Int64 = 1 << 20
  /// At most this many entries (the CA key files are a handful).
  static let entryLimit = 10_000

  /// Writes every entry of the archive at `path` into `folder` (which
  /// exists and is empty); returns what was written.
  static func extract(_ path: String, into folder: URL) throws -> [String: BackupManifest.File] {
    guard let input = FileHandle(forReadingAtPath: path) else {
      throw BackupFailure("\(path) cannot be read.")
    }
    defer { try? input.close() }
    var files: [String: BackupManifest.File] = [:]
    while true {
      let block = [UInt8](try input.read(upToCount: 512) ?? Data())
      if block.isEmpty { break }
      guard let (name, type, size) = try TarHeader.read(block) else { break }
      guard type == UInt8(ascii: "0") || type == 0 else {
        throw BackupFailure(
          "The backup file holds “\(name.prefix(100))”, which is not a plain file.")
      }
      guard BackupManifest.allows(name) else {
        throw BackupFailure(
          "The backup file holds “\(name.prefix(100))”, which no Mailseal backup has.")
      }
      guard files[name] == nil, files.count < entryLimit else {
        throw BackupFailure("The backup file holds “\(name.prefix(100))” twice.")
      }
      if name != BackupManifest.databaseSQLite && name != BackupManifest.databasePostgres,
        size > smallFileLimit
      {
        throw BackupFailure("The backup file's “\(name.prefix(100))” is larger than 1 MiB.")
      }
      let target = folder.appendingPathComponent(name)
      try FileManager.default.createDirectory(
        at: target.deletingLastPathComponent(), withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700])
      guard
        FileManager.default.createFile(
          atPath: target.path, contents: nil, attributes: [.posixPermissions: 0o600]),
        let output = FileHandle(forWritingAtPath: target.path)
      else { throw BackupFailure("\(target.path) cannot be written.") }
      defer { try? output.close() }
      var hash = SHA256()
      var left = size
      while left > 0 {
        guard let chunk = try input.read(upToCount: Int(min(left, 1 << 20))), !chunk.isEmpty else {
          throw BackupFailure("The backup file ends in the middle of “\(name)”: it is cut short.")
        }
        hash.update(data: chunk)
        try output.write(contentsOf: chunk)
        left -= Int64(chunk.count)
      }
      try output.synchronize()
      let padding = Int((512 - size % 512) % 512)
      if padding > 0 { _ = try input.read(upToCount: padding) }
      files[name] = .init(
        name: name, size: size, sha256: hash.finalize().map { String(format: "%02x", $0) }.joined())
    }
    return files
  }
}

/// Why a backup or a restore could not be done: said to the admin as it is.
public struct BackupFailure: Error, CustomStringConvertible, Sendable {
  public let description: String
  /// Exit status 78 (EX_CONFIG): the installation is not one a restore may
  /// go into, or what it needs is missing.
  public let isConfiguration: Bool

  init(_ description: String, configuration: Bool = false) {
    self.description = description
    isConfiguration = configuration
  }
}
