/// Shamir's secret sharing over GF(2⁸), byte by byte: a secret is split into
/// `count` shares so that any `threshold` of them give it back and fewer
/// tell nothing about it (each byte is the constant term of its own random
/// polynomial of degree `threshold − 1`; share *i* holds every polynomial's
/// value at x = *i*).
///
/// The field is AES's: GF(2)[x] modulo x⁸ + x⁴ + x³ + x + 1. Arithmetic is
/// written without tables or branches on secret bytes, so the time taken
/// does not depend on the secret (the ceremony machine may be shared).
public enum SecretSharing {
  /// The most shares one split may make: x runs over the 255 non-zero
  /// field elements.
  public static let maximumShares = 255

  /// One share: its x coordinate (1…255) and the value of every byte's
  /// polynomial there.
  public struct Share: Hashable, Sendable {
    /// The x coordinate, never zero (the secret sits at zero).
    public var index: UInt8
    /// One byte per byte of the secret.
    public var value: [UInt8]

    /// Creates a share from its coordinate and values.
    public init(index: UInt8, value: [UInt8]) {
      self.index = index
      self.value = value
    }
  }

  /// Splits `secret` into `count` shares, any `threshold` of which give it
  /// back.
  ///
  /// - Precondition: `2 ≤ threshold ≤ count ≤ 255`.
  public static func split(_ secret: [UInt8], count: Int, threshold: Int) -> [Share] {
    precondition(
      (2...maximumShares).contains(count) && (2...count).contains(threshold),
      "2 ≤ threshold ≤ count ≤ 255")
    var generator = SystemRandomNumberGenerator()
    var shares = (1...count).map { Share(index: UInt8($0), value: []) }
    for index in shares.indices { shares[index].value.reserveCapacity(secret.count) }
    var coefficients = [UInt8](repeating: 0, count: threshold)
    for byte in secret {
      coefficients[0] = byte
      for degree in 1..<threshold { coefficients[degree] = generator.next() }
      for index in shares.indices {
        shares[index].value.append(evaluate(coefficients, at: shares[index].index))
      }
    }
    for degree in coefficients.indices { coefficients[degree] = 0 }
    return shares
  }

  /// Gives back the secret from shares (Lagrange interpolation at zero).
  ///
  /// With fewer shares than the split's threshold the result is a value
  /// unrelated to the secret, not an error: the caller checks the secret
  /// against something public (the recovery key against its certificate).
  ///
  /// - Returns: nil when the shares are not of one split: none, two with
  ///   one index, an index of zero, or values of different lengths.
  public static func combine(_ shares: [Share]) -> [UInt8]? {
    guard let length = shares.first?.value.count,
      shares.allSatisfy({ $0.index != 0 && $0.value.count == length }),
      Set(shares.map(\.index)).count == shares.count
    else { return nil }
    // The Lagrange basis at zero: ℓⱼ(0) = ∏ xₘ / (xₘ − xⱼ), m ≠ j; in
    // characteristic 2 subtraction is addition (xor).
    let weights = shares.indices.map { j in
      var numerator: UInt8 = 1
      var denominator: UInt8 = 1
      for m in shares.indices where m != j {
        numerator = multiply(numerator, shares[m].index)
        denominator = multiply(denominator, shares[m].index ^ shares[j].index)
      }
      return multiply(numerator, inverse(denominator))
    }
    var secret = [UInt8](repeating: 0, count: length)
    for (j, share) in shares.enumerated() {
      for position in 0..<length {
        secret[position] ^= multiply(share.value[position], weights[j])
      }
    }
    return secret
  }

  /// The polynomial with these coefficients (lowest degree first) at `x`
  /// (Horner's rule).
  static func evaluate(_ coefficients: [UInt8], at x: UInt8) -> UInt8 {
    var result: UInt8 = 0
    for coefficient in coefficients.reversed() {
      result = multiply(result, x) ^ coefficient
    }
    return result
  }

  /// Multiplication in GF(2⁸), eight rounds whatever the operands.
  static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
    var a = a
    var b = b
    var product: UInt8 = 0
    for _ in 0..<8 {
      product ^= a & (0 &- (b & 1))  // add a when b's low bit is set
      let carry = 0 &- (a >> 7)  // 0xFF when a's top bit is set
      a = (a << 1) ^ (0x1B & carry)
      b >>= 1
    }
    return product
  }

  /// The inverse, as a²⁵⁴ (a²⁵⁵ = 1 for every non-zero a); zero for zero.
  static func inverse(_ a: UInt8) -> UInt8 {
    var result: UInt8 = 1
    var power = a
    var exponent = 254
    while exponent > 0 {
      // The exponent is public: this branch says nothing about `a`.
      if exponent & 1 == 1 { result = multiply(result, power) }
      power = multiply(power, power)
      exponent >>= 1
    }
    return result
  }
}
