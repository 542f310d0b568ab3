//! The epoch-ending ledger info record (BCS) and its waypoint: the checks
//! the Go port makes when it decodes a record, with their field names.
//!
//! ```ignore
//! let li = decode(&rec)?;          // an error names the field and offset
//! let wp = waypoint(li.version, &rec); // "<version>:<sha3-256 hex>"
//! ```

use tiny_keccak::{Hasher, Sha3};

/// What the restore needs from a decoded ledger info.
#[derive(Debug, Clone)]
pub struct LedgerInfo {
    pub epoch: u64,
    pub version: u64,
    /// The next epoch state's epoch, if the info ends an epoch.
    pub next_epoch_state_epoch: Option<u64>,
}

impl LedgerInfo {
    /// Aptos' next_block_epoch: the next epoch state's epoch, or the
    /// info's own epoch.
    pub fn next_block_epoch(&self) -> u64 {
        self.next_epoch_state_epoch.unwrap_or(self.epoch)
    }
}

struct Decoder<'a> {
    buf: &'a [u8],
    off: usize,
}

type DecodeResult<T> = Result<T, String>;

impl<'a> Decoder<'a> {
    fn fail<T>(&self, field: &str, at: usize, what: &str) -> DecodeResult<T> {
        Err(format!("decode ledger info: {field} at byte {at}: {what}"))
    }

    fn take(&mut self, field: &str, n: usize) -> DecodeResult<&'a [u8]> {
        let left = self.buf.len() - self.off;
        if n > left {
            return self.fail(field, self.off, &format!("unexpected end of input (need {n} bytes, have {left})"));
        }
        let b = &self.buf[self.off..self.off + n];
        self.off += n;
        Ok(b)
    }

    fn u8(&mut self, field: &str) -> DecodeResult<u8> {
        Ok(self.take(field, 1)?[0])
    }

    fn u64(&mut self, field: &str) -> DecodeResult<u64> {
        let b = self.take(field, 8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn uleb128(&mut self, field: &str) -> DecodeResult<u32> {
        let start = self.off;
        let mut v: u64 = 0;
        for i in 0..5 {
            let b = self.u8(field)?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 != 0 {
                continue;
            }
            if v > u64::from(u32::MAX) {
                return self.fail(field, start, &format!("ULEB128 value overflows u32 (value {v})"));
            }
            if i > 0 && b == 0 {
                return self.fail(field, start, "non-canonical ULEB128 encoding");
            }
            return Ok(v as u32);
        }
        self.fail(field, start, "ULEB128 value overflows u32 (more than 5 bytes)")
    }

    fn len(&mut self, field: &str, min_elem: usize) -> DecodeResult<usize> {
        let start = self.off;
        let n = self.uleb128(field)? as usize;
        let left = self.buf.len() - self.off;
        if n.saturating_mul(min_elem.max(1)) > left {
            return self.fail(field, start, &format!("length exceeds remaining input (length {n}, {left} bytes left)"));
        }
        Ok(n)
    }

    fn bytes(&mut self, field: &str) -> DecodeResult<()> {
        let n = self.len(field, 1)?;
        self.take(field, n).map(|_| ())
    }

    fn option(&mut self, field: &str) -> DecodeResult<bool> {
        let at = self.off;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            t => self.fail(field, at, &format!("invalid option tag (tag 0x{t:02x})")),
        }
    }
}

/// Decodes one record as a LedgerInfoWithSignatures (variant V0).
pub fn decode(rec: &[u8]) -> DecodeResult<LedgerInfo> {
    let mut d = Decoder { buf: rec, off: 0 };
    let tag = d.uleb128("variant")?;
    if tag != 0 {
        return d.fail("variant", 0, &format!("unknown enum variant (tag {tag})"));
    }
    let epoch = d.u64("info.epoch")?;
    d.u64("info.round")?;
    d.take("info.id", 32)?;
    d.take("info.executed_state_id", 32)?;
    let version = d.u64("info.version")?;
    d.u64("info.timestamp_usecs")?;
    let mut next = None;
    if d.option("info.next_epoch_state")? {
        next = Some(d.u64("info.next_epoch_state.epoch")?);
        let n = d.len("info.next_epoch_state.validators", 32 + 1 + 8)?;
        for i in 0..n {
            d.take(&format!("info.next_epoch_state.validators[{i}].address"), 32)?;
            d.bytes(&format!("info.next_epoch_state.validators[{i}].public_key"))?;
            d.u64(&format!("info.next_epoch_state.validators[{i}].voting_power"))?;
        }
    }
    d.take("info.consensus_data_hash", 32)?;
    d.bytes("signatures.bitmask")?;
    if d.option("signatures.sig")? {
        d.bytes("signatures.sig")?;
    }
    if d.off != rec.len() {
        return d.fail("end of value", d.off, &format!("trailing bytes ({} bytes left)", rec.len() - d.off));
    }
    Ok(LedgerInfo { epoch, version, next_epoch_state_epoch: next })
}

/// The waypoint of a record: "<version>:<sha3-256 of the record, hex>".
pub fn waypoint(version: u64, rec: &[u8]) -> String {
    let mut h = Sha3::v256();
    h.update(rec);
    let mut out = [0u8; 32];
    h.finalize(&mut out);
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    format!("{version}:{hex}")
}

/// Checks a waypoint string's form: decimal version without leading
/// zeros, ':', 64 lowercase hex digits.
pub fn check_waypoint(s: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("invalid waypoint {s:?}: {why}"));
    let (ver, hash) = match s.split_once(':') {
        Some(parts) => parts,
        None => return bad("no ':' between version and hash"),
    };
    if ver.is_empty() || (ver.len() > 1 && ver.starts_with('0')) || !ver.bytes().all(|b| b.is_ascii_digit()) {
        return bad("version: want a decimal number without sign or leading zeros");
    }
    if ver.parse::<u64>().is_err() {
        return bad("version: out of range");
    }
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return bad("hash: want 64 lowercase hex digits");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha3_256_of_empty_input() {
        // The SHA3-256 test vector for the empty message.
        assert_eq!(waypoint(7, b""), "7:a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    }

    #[test]
    fn decode_rejects_trailing_bytes_and_bad_tags() {
        let mut rec = vec![0u8];
        rec.extend(1u64.to_le_bytes()); // epoch
        rec.extend(0u64.to_le_bytes()); // round
        rec.extend([0u8; 64]); // id, executed_state_id
        rec.extend(5u64.to_le_bytes()); // version
        rec.extend(0u64.to_le_bytes()); // timestamp
        rec.push(0); // no next epoch state
        rec.extend([0u8; 32]); // consensus data hash
        rec.push(0); // empty bitmask
        rec.push(0); // no sig
        let li = decode(&rec).expect("well formed");
        assert_eq!((li.epoch, li.version, li.next_block_epoch()), (1, 5, 1));
        let mut extra = rec.clone();
        extra.push(9);
        assert!(decode(&extra).unwrap_err().contains("trailing bytes"));
        let mut badopt = rec.clone();
        badopt[1 + 8 * 2 + 64 + 8 * 2] = 2;
        assert!(decode(&badopt).unwrap_err().contains("info.next_epoch_state"));
        assert!(decode(&rec[..10]).unwrap_err().contains("unexpected end of input"));
    }

    #[test]
    fn waypoint_forms() {
        let h = "a".repeat(64);
        assert!(check_waypoint(&format!("0:{h}")).is_ok());
        assert!(check_waypoint(&format!("01:{h}")).is_err());
        assert!(check_waypoint(&format!("1:{}", "A".repeat(64))).is_err());
        assert!(check_waypoint("1").is_err());
    }
}
