//! A table's checksum: the sum (mod 2^256) of the SHA-256 of every row. A sum does not depend
//! on the order rows come in, so the two backends need not sort text the same way for the
//! source's and the target's checksums to agree; any changed, lost or extra row changes it.

use super::{Row, Value};
use sha2::{Digest as _, Sha256};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    sum: [u8; 32],
}

impl Checksum {
    pub fn add(&mut self, row: &Row) {
        let mut hash = Sha256::new();
        for value in row {
            encode(&mut hash, value);
        }
        let digest: [u8; 32] = hash.finalize().into();
        let mut carry = 0u16;
        for (sum, byte) in self.sum.iter_mut().zip(digest).rev() {
            let total = u16::from(*sum) + u16::from(byte) + carry;
            *sum = (total & 0xff) as u8;
            carry = total >> 8;
        }
        self.rows += 1;
    }

    pub fn hex(&self) -> String {
        self.sum.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A value's bytes, tagged and length-prefixed so that no two rows encode alike.
fn encode(hash: &mut Sha256, value: &Value) {
    match value {
        Value::Null => hash.update([0]),
        Value::Integer(n) => {
            hash.update([1]);
            hash.update(n.to_be_bytes());
        }
        Value::Real(r) => {
            hash.update([2]);
            hash.update(r.to_bits().to_be_bytes());
        }
        Value::Text(s) => {
            hash.update([3]);
            hash.update((s.len() as u64).to_be_bytes());
            hash.update(s.as_bytes());
        }
        Value::Bytes(b) => {
            hash.update([4]);
            hash.update((b.len() as u64).to_be_bytes());
            hash.update(b);
        }
        Value::Bool(b) => hash.update([5, u8::from(*b)]),
        Value::Uuid(u) => {
            hash.update([6]);
            hash.update(u.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(rows: &[Row]) -> Checksum {
        let mut checksum = Checksum::default();
        rows.iter().for_each(|r| checksum.add(r));
        checksum
    }

    #[test]
    fn order_does_not_matter_but_every_value_does() {
        let a = vec![Value::Integer(1), Value::Text("a".into())];
        let b = vec![Value::Integer(2), Value::Null];
        assert_eq!(sum(&[a.clone(), b.clone()]), sum(&[b.clone(), a.clone()]));
        assert_ne!(sum(&[a.clone(), b.clone()]), sum(std::slice::from_ref(&a)));
        assert_ne!(
            sum(std::slice::from_ref(&a)),
            sum(&[vec![Value::Integer(1), Value::Text("b".into())]])
        );
        // The same bytes as text and as a blob, or split differently, are different rows.
        assert_ne!(
            sum(&[vec![Value::Text("ab".into())]]),
            sum(&[vec![Value::Bytes(b"ab".to_vec())]])
        );
        assert_ne!(
            sum(&[vec![Value::Text("ab".into()), Value::Text(String::new())]]),
            sum(&[vec![Value::Text("a".into()), Value::Text("b".into())]])
        );
        assert_eq!(sum(&[a, b]).rows, 2);
        assert_eq!(Checksum::default().hex(), "0".repeat(64));
    }
}
