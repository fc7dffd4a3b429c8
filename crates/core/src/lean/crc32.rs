//! CRC-32 with one table: the `crc32fast` crate's portable path uses slicing-by-16, sixteen
//! 1 KB tables (16 KB of incompressible data in the module) to checksum a snapshot of a few KB
//! once per save. One 1 KB table, built at compile time, is fast enough for that and gives the
//! same CRC-32 (IEEE 802.3), so stored snapshots stay readable.

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the checksum in snapshot headers.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut bit = 0;
            while bit < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                bit += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_and_crc32fast() {
        assert_eq!(crc32(b""), 0);
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let mut seed = 11u64;
        for n in [1usize, 15, 16, 17, 255, 4096] {
            let bytes: Vec<u8> = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 56) as u8
                })
                .collect();
            assert_eq!(crc32(&bytes), crc32fast::hash(&bytes), "{n} bytes");
        }
    }
}
