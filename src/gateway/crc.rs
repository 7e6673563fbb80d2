//! The two frame checks: CRC-16/MODBUS for SL 651 and CRC-8 (polynomial 0xE5) for SZY 206.
//!
//! Both are a few lines bit by bit; frames are at most a few kilobytes and arrive a few a
//! minute per terminal, so a table would buy nothing worth a dependency.

/// CRC-16/MODBUS (reflected polynomial 0xA001 = x¹⁶+x¹⁵+x²+1, init 0xFFFF, no final XOR) over
/// `bytes`. SL 651 sends it high byte first, which is not MODBUS's own byte order.
pub fn crc16_modbus(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// CRC-8 of SZY 206: polynomial x⁷+x⁶+x⁵+x²+1 (0xE5), MSB first, init 0, no reflection, no
/// final XOR. (Two published implementations use 0xE1 or 0xE4 & 0x7F; both fail the real frames.)
pub fn crc8_e5(bytes: &[u8]) -> u8 {
    let mut crc: u8 = 0;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0xE5
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Hex text (upper case, no separators) of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Bytes of hex text (spaces ignored), or `None` when it is not hex.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        from_hex(s).unwrap()
    }

    /// The CRC of every SL 651 vector of the telemetry note: (frame without CRC, CRC).
    #[test]
    fn sl651_vectors() {
        for (frame, crc) in [
            // T-A1 (Beijing), T-A2 (S13 groundwater), T-A5, T-A6 (downlink confirms), T-A7 (2F),
            // T-A8 and its two confirms, T-A9.
            (
                "7E7E010030503768000032003302 0A02260701060114F1F1003050376848F0F02607010600392300033660361B000110272B0000004320FF221B0001103812123003",
                0x2B97,
            ),
            (
                "7E7E1600000000010000370024020000160830165821F1F1000000000147F0F01608301658F0F016083016580E1A0018790303",
                0x0746,
            ),
            ("7E7E112233445501AAAA3080080200052401101420331B", 0xF1CC),
            ("7E7E001230567810123433800802000C140612020015 04", 0xA2DF),
            ("7E7E01001234567812342F000802000359101115511103", 0x6BCA),
            (
                "7E7E011401090001123432002A020017250315080012F1F1140109000147F0F025031508000E1A0012340311013545200000008038121256 03",
                0x4CF9,
            ),
            ("7E7E1401090001011234328008020017250315080105 04", 0x73D8),
            ("7E7E1401090001011234328008020017250315080105 1B", 0xBB99),
            (
                "7E7E0114010900020000320030020102250315090030F1F1140109000249F0F025031509003C2BFF00001234282B0000000012682A00000043203812120103",
                0x23D8,
            ),
        ] {
            assert_eq!(crc16_modbus(&hex(frame)), crc, "{frame}");
        }
    }

    /// The CRC of every SZY 206 vector: computed over C through the last data byte.
    #[test]
    fn szy206_vectors() {
        for (frame, cs) in [
            (
                "681A68B35303810D00C00059000000826110000001106000004508090A3516",
                0x35,
            ),
            ("681468B21401090100C0325408000000000000000815003416", 0x34),
            ("681468B21401090100C0501200F00000000030120915002A16", 0x2A),
            ("68086880140109010002F0B816", 0xB8),
            ("68086880140109010002F29716", 0x97),
            ("680868335303810D00C0003E16", 0x3E),
        ] {
            let b = hex(frame);
            let l = usize::from(b[1]);
            assert_eq!(crc8_e5(&b[3..3 + l]), cs, "{frame}");
            assert_eq!(b[3 + l], cs, "{frame}");
        }
    }

    /// Regression: the wrong variants in circulation give other values for the real frame.
    #[test]
    fn the_polynomial_matters() {
        let b = hex("B35303810D00C00059000000826110000001106000004508090A");
        assert_eq!(crc8_e5(&b), 0x35);
        assert_ne!(crc8_e5(&b[1..]), 0x35);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(to_hex(&[0x7E, 0x0A, 0xFF]), "7E0AFF");
        assert_eq!(from_hex("7e 0a ff"), Some(vec![0x7E, 0x0A, 0xFF]));
        assert_eq!(from_hex("7E0"), None);
        assert_eq!(from_hex("7G"), None);
    }
}
