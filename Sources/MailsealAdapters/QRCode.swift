/// A QR code (ISO/IEC 18004) for the TOTP enrolment: byte mode, error
/// correction level M, versions 1 to 10 (up to 213 bytes) — enough for an
/// otpauth:// URI. Rendered as SVG on the server, so the operator's page
/// needs no script and the secret never passes through a third party.
public struct QRCode: Sendable {
  /// The modules, row by row; true is dark.
  let modules: [[Bool]]
  let version: Int

  var size: Int { modules.count }

  public struct TooLong: Error {}

  /// Level M block structure per version: EC codewords per block and the
  /// data codewords of each block.
  static let blocks: [Int: (ec: Int, data: [Int])] = [
    1: (10, [16]), 2: (16, [28]), 3: (26, [44]), 4: (18, [32, 32]), 5: (24, [43, 43]),
    6: (16, [27, 27, 27, 27]), 7: (18, [31, 31, 31, 31]), 8: (22, [38, 38, 39, 39]),
    9: (22, [36, 36, 36, 37, 37]), 10: (26, [43, 43, 43, 43, 44]),
  ]
  static let alignment: [Int: [Int]] = [
    2: [6, 18], 3: [6, 22], 4: [6, 26], 5: [6, 30], 6: [6, 34], 7: [6, 22, 38], 8: [6, 24, 42],
    9: [6, 26, 46],
    10: [6, 28, 50],
  ]
  static let versionBits: [Int: Int] = [7: 0x07C94, 8: 0x085BC, 9: 0x09A99, 10: 0x0A4D3]

  public init(_ text: String) throws {
    let bytes = Array(text.utf8)
    guard
      let version = (1...10).first(where: { v in
        let capacity = Self.blocks[v]!.data.reduce(0, +) * 8
        return 4 + (v < 10 ? 8 : 16) + bytes.count * 8 <= capacity
      })
    else { throw TooLong() }
    self.version = version
    let codewords = Self.codewords(bytes, version: version)
    var best: [[Bool]]?
    var bestPenalty = Int.max
    for mask in 0..<8 {
      var matrix = Matrix(version: version)
      matrix.placeData(codewords)
      matrix.applyMask(mask)
      matrix.placeFormat(mask: mask)
      let penalty = matrix.penalty()
      if penalty < bestPenalty {
        bestPenalty = penalty
        best = matrix.dark
      }
    }
    modules = best!
  }

  // MARK: Data and error correction

  static func codewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
    let structure = blocks[version]!
    let capacity = structure.data.reduce(0, +)
    var bits: [Bool] = []
    func append(_ value: Int, _ count: Int) {
      for shift in stride(from: count - 1, through: 0, by: -1) {
        bits.append((value >> shift) & 1 == 1)
      }
    }
    append(0b0100, 4)
    append(bytes.count, version < 10 ? 8 : 16)
    for byte in bytes { append(Int(byte), 8) }
    append(0, min(4, capacity * 8 - bits.count))
    while bits.count % 8 != 0 { bits.append(false) }
    var data: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { start in
      bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
    }
    var pad: [UInt8] = [0xEC, 0x11]
    while data.count < capacity {
      data.append(pad[0])
      pad.swapAt(0, 1)
    }
    // Split into blocks, add Reed-Solomon, interleave.
    var dataBlocks: [[UInt8]] = []
    var offset = 0
    for count in structure.data {
      dataBlocks.append(Array(data[offset..<offset + count]))
      offset += count
    }
    let ecBlocks = dataBlocks.map { ReedSolomon.remainder($0, degree: structure.ec) }
    var result: [UInt8] = []
    for index in 0..<(structure.data.max()!) {
      for block in dataBlocks where index < block.count { result.append(block[index]) }
    }
    for index in 0..<structure.ec {
      for block in ecBlocks { result.append(block[index]) }
    }
    return result
  }

  /// Reed-Solomon over GF(256) with the polynomial x^8+x^4+x^3+x^2+1.
  enum ReedSolomon {
    static let (exp, log): ([UInt8], [Int]) = {
      var exp = [UInt8](repeating: 0, count: 512)
      var log = [Int](repeating: 0, count: 256)
      var value = 1
      for power in 0..<255 {
        exp[power] = UInt8(value)
        log[value] = power
        value <<= 1
        if value & 0x100 != 0 { value ^= 0x11D }
      }
      for power in 255..<512 { exp[power] = exp[power - 255] }
      return (exp, log)
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
      a == 0 || b == 0 ? 0 : exp[log[Int(a)] + log[Int(b)]]
    }

    static func generator(degree: Int) -> [UInt8] {
      var polynomial: [UInt8] = [1]
      for power in 0..<degree {
        var next = [UInt8](repeating: 0, count: polynomial.count + 1)
        for (index, coefficient) in polynomial.enumerated() {
          next[index] ^= coefficient
          next[index + 1] ^= multiply(coefficient, exp[power])
        }
        polynomial = next
      }
      return polynomial
    }

    static func remainder(_ data: [UInt8], degree: Int) -> [UInt8] {
      let generator = generator(degree: degree)
      var remainder = [UInt8](repeating: 0, count: degree)
      for byte in data {
        let factor = byte ^ remainder[0]
        remainder.removeFirst()
        remainder.append(0)
        for index in 0..<degree { remainder[index] ^= multiply(generator[index + 1], factor) }
      }
      return remainder
    }
  }

  // MARK: The matrix

  struct Matrix {
    let size: Int
    let version: Int
    var dark: [[Bool]]
    var reserved: [[Bool]]

    init(version: Int) {
      self.version = version
      size = 17 + 4 * version
      dark = Array(repeating: Array(repeating: false, count: size), count: size)
      reserved = dark
      for (row, column) in [(0, 0), (0, size - 7), (size - 7, 0)] { finder(row, column) }
      for index in 8..<(size - 8) {
        set(6, index, index % 2 == 0)
        set(index, 6, index % 2 == 0)
      }
      if let centres = QRCode.alignment[version] {
        let first = centres.first!
        let last = centres.last!
        for row in centres {
          // Every combination but the three under the finder patterns.
          for column in centres
          where
            !((row == first && column == first) || (row == first && column == last)
            || (row == last && column == first))
          {
            alignmentPattern(row, column)
          }
        }
      }
      set(4 * version + 9, 8, true)
      // Format areas (written later) and version areas.
      for index in 0..<9 {
        reserved[8][index] = true
        reserved[index][8] = true
      }
      for index in 0..<8 {
        reserved[8][size - 1 - index] = true
        reserved[size - 1 - index][8] = true
      }
      if let bits = QRCode.versionBits[version] {
        for index in 0..<18 {
          let bit = (bits >> index) & 1 == 1
          let (a, b) = (index / 3, index % 3 + size - 11)
          set(a, b, bit)
          set(b, a, bit)
        }
      }
    }

    mutating func set(_ row: Int, _ column: Int, _ value: Bool) {
      dark[row][column] = value
      reserved[row][column] = true
    }

    mutating func finder(_ top: Int, _ left: Int) {
      for dy in -1...7 {
        for dx in -1...7 {
          let row = top + dy
          let column = left + dx
          guard row >= 0, row < size, column >= 0, column < size else { continue }
          let inside = (0...6).contains(dy) && (0...6).contains(dx)
          let ring = inside && (dy == 0 || dy == 6 || dx == 0 || dx == 6)
          let core = (2...4).contains(dy) && (2...4).contains(dx)
          set(row, column, ring || core)
        }
      }
    }

    mutating func alignmentPattern(_ row: Int, _ column: Int) {
      for dy in -2...2 {
        for dx in -2...2 { set(row + dy, column + dx, max(abs(dy), abs(dx)) != 1) }
      }
    }

    mutating func placeData(_ codewords: [UInt8]) {
      var bitIndex = 0
      let totalBits = codewords.count * 8
      var upward = true
      var column = size - 1
      while column > 0 {
        if column == 6 { column -= 1 }
        for step in 0..<size {
          let row = upward ? size - 1 - step : step
          for offset in 0..<2 {
            let c = column - offset
            guard !reserved[row][c] else { continue }
            var bit = false
            if bitIndex < totalBits {
              bit = (codewords[bitIndex / 8] >> (7 - bitIndex % 8)) & 1 == 1
              bitIndex += 1
            }
            dark[row][c] = bit
          }
        }
        upward.toggle()
        column -= 2
      }
    }

    static func masked(_ mask: Int, _ row: Int, _ column: Int) -> Bool {
      switch mask {
      case 0: return (row + column) % 2 == 0
      case 1: return row % 2 == 0
      case 2: return column % 3 == 0
      case 3: return (row + column) % 3 == 0
      case 4: return (row / 2 + column / 3) % 2 == 0
      case 5: return (row * column) % 2 + (row * column) % 3 == 0
      case 6: return ((row * column) % 2 + (row * column) % 3) % 2 == 0
      default: return ((row + column) % 2 + (row * column) % 3) % 2 == 0
      }
    }

    mutating func applyMask(_ mask: Int) {
      for row in 0..<size {
        for column in 0..<size where !reserved[row][column] && Self.masked(mask, row, column) {
          dark[row][column].toggle()
        }
      }
    }

    /// Level M (01) and the mask, BCH(15,5), XOR 0x5412.
    mutating func placeFormat(mask: Int) {
      let data = (0b00 << 3) | mask
      var value = data << 10
      for shift in stride(from: 14, through: 10, by: -1) where (value >> shift) & 1 == 1 {
        value ^= 0x537 << (shift - 10)
      }
      let bits = ((data << 10) | value) ^ 0x5412
      func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
      for index in 0..<6 { dark[8][index] = bit(14 - index) }
      dark[8][7] = bit(8)
      dark[8][8] = bit(7)
      dark[7][8] = bit(6)
      for index in 9..<15 { dark[14 - index][8] = bit(14 - index) }
      for index in 0..<8 { dark[size - 1 - index][8] = bit(14 - index) }
      for index in 7..<15 { dark[8][size - 15 + index] = bit(14 - index) }
      dark[size - 8][8] = true
    }

    /// ISO/IEC 18004 §7.8.3 penalty of rules N1–N4.
    func penalty() -> Int {
      var score = 0
      for line in [dark, transposed()] {
        for row in line {
          var run = 1
          for index in 1..<size {
            if row[index] == row[index - 1] {
              run += 1
            } else {
              if run >= 5 { score += run - 2 }
              run = 1
            }
          }
          if run >= 5 { score += run - 2 }
          let pattern: [Bool] = [true, false, true, true, true, false, true]
          for index in 0...(size - 7) where Array(row[index..<index + 7]) == pattern {
            let before = index >= 4 && row[(index - 4)..<index].allSatisfy { !$0 }
            let after = index + 11 <= size && row[(index + 7)..<(index + 11)].allSatisfy { !$0 }
            if before || after { score += 40 }
          }
        }
      }
      for row in 0..<(size - 1) {
        for column in 0..<(size - 1) {
          let value = dark[row][column]
          if dark[row][column + 1] == value && dark[row + 1][column] == value
            && dark[row + 1][column + 1] == value
          {
            score += 3
          }
        }
      }
      let darkCount = dark.reduce(0) { $0 + $1.filter { $0 }.count }
      let percent = darkCount * 100 / (size * size)
      score += abs(percent - 50) / 5 * 10
      return score
    }

    func transposed() -> [[Bool]] {
      (0..<size).map { column in (0..<size).map { row in dark[row][column] } }
    }
  }

  /// An SVG of the code with a quiet zone of four modules.
  public func svg(moduleSize: Int = 6) -> String {
    let total = (size + 8) * moduleSize
    var path = ""
    for (row, line) in modules.enumerated() {
      for (column, isDark) in line.enumerated() where isDark {
        path +=
          "M\((column + 4) * moduleSize),\((row + 4) * moduleSize)h\(moduleSize)v\(moduleSize)h-\(moduleSize)z"
      }
    }
    return """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(total)" height="\(total)" viewBox="0 0 \(total) \(total)" role="img"><rect width="100%" height="100%" fill="#fff"/><path d="\(path)" fill="#000"/></svg>
      """
  }

  /// A plain PBM image (for tests that decode it with zbarimg).
  func pbm(moduleSize: Int = 4) -> String {
    let total = (size + 8) * moduleSize
    var lines = ["P1", "\(total) \(total)"]
    for y in 0..<total {
      let row = y / moduleSize - 4
      lines.append(
        (0..<total).map { x -> String in
          let column = x / moduleSize - 4
          let isDark =
            row >= 0 && row < size && column >= 0 && column < size && modules[row][column]
          return isDark ? "1" : "0"
        }.joined(separator: " "))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
