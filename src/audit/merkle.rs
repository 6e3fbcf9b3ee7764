//! Each chain of the audit trail as a Merkle tree, built as RFC 6962
//! (Certificate Transparency, section 2.1) builds one, so that anyone can
//! check from a signed root (a [checkpoint](super::checkpoint)) that an
//! event is in a chain, and that a later chain extends an earlier one, in
//! O(log n) hashes.
//!
//! The leaves are the chain's events in `seq` order; the data of the leaf
//! of an event is its `hash` as 32 bytes (the hex decoded). So:
//!
//! ```text
//! leaf hash = SHA-256(0x00 || event hash)
//! node hash = SHA-256(0x01 || left || right)
//! MTH({})   = SHA-256()            MTH of n > 1 leaves splits at the largest
//!                                  power of two k < n: node(MTH(D[0:k]), MTH(D[k:n]))
//! ```
//!
//! The chain's own hashes are unchanged: the tree is computed over them.
//! [`Frontier`] computes the root of every prefix of a chain while reading
//! it once, in O(log n) memory; [`inclusion_proof`] and
//! [`consistency_proof`] need the leaves, and the `verify_*` functions need
//! only the proof, as RFC 9162 section 2.1.3 and 2.1.4 check them.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The hash of a leaf whose data is `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The leaf hash of an event whose `hash` is `event_hash` (64 hex digits);
/// `None` when it is not one, as no intact row's is.
pub fn event_leaf(event_hash: &str) -> Option<Hash> {
    let bytes: Hash = hex::decode(event_hash).ok()?.try_into().ok()?;
    Some(leaf_hash(&bytes))
}

/// The leaf an event takes in its chain's tree whatever its stored `hash`:
/// [`event_leaf`], or, for a hash that is not 64 hex digits, the leaf of its
/// text. Such a row already fails `warrant audit verify`'s chain check, and
/// no checkpoint is signed over it; it still takes its place, so that every
/// tree built of one chain (a checkpoint verified, a change page's proofs,
/// an export) has the same leaves.
pub fn stored_leaf(event_hash: &str) -> Hash {
    event_leaf(event_hash).unwrap_or_else(|| leaf_hash(event_hash.as_bytes()))
}

/// The root of the tree of no leaves.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (for `n > 1`): where a tree of
/// `n` leaves splits.
fn split(n: usize) -> usize {
    debug_assert!(n > 1);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The Merkle tree hash (root) of `leaves`, given as leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of the leaf at `index` in the tree of `leaves` (RFC 6962
/// `PATH(m, D[n])`): the sibling hashes from the leaf up to the root.
/// `None` when `index` is not a leaf of it.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    path(leaves, index, &mut proof);
    Some(proof)
}

fn path(leaves: &[Hash], index: usize, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        path(&leaves[..k], index, proof);
        proof.push(root(&leaves[k..]));
    } else {
        path(&leaves[k..], index - k, proof);
        proof.push(root(&leaves[..k]));
    }
}

/// The proof that the tree of the first `old_size` of `leaves` is a prefix
/// of the tree of all of them (RFC 6962 `PROOF(m, D[n])`). Empty when
/// `old_size` is 0 or all of them; `None` when `old_size` is larger.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    if old_size > leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    if old_size > 0 {
        subproof(old_size, leaves, true, &mut proof);
    }
    Some(proof)
}

/// RFC 6962 `SUBPROOF(m, D[n], b)`.
fn subproof(m: usize, leaves: &[Hash], whole: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !whole {
            proof.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], whole, proof);
        proof.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, proof);
        proof.push(root(&leaves[..k]));
    }
}

/// Whether `proof` shows the leaf `leaf` at `index` in a tree of `size`
/// leaves whose root is `root` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// Whether `proof` shows that the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `new_size` leaves with root
/// `new_root` (RFC 9162 section 2.1.4.2). An empty tree is a prefix of
/// every tree, and a tree of itself, without a proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == 0 {
        return proof.is_empty();
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    // When the old tree is a whole subtree, its root starts the proof.
    let mut proof = proof.iter();
    let first;
    let mut rest = proof.as_slice();
    if old_size.is_power_of_two() {
        first = *old_root;
    } else {
        let Some(p) = proof.next() else { return false };
        first = *p;
        rest = proof.as_slice();
    }
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (first, first);
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && f_r == *old_root && s_r == *new_root
}

/// The right edge of a tree being built leaf by leaf: the roots of its
/// perfect subtrees, largest first. Gives the root of the leaves pushed so
/// far at any time, in O(log n) memory, so that a chain of millions of
/// events is read once to check every checkpointed size of it.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    /// `(height, root)` of each perfect subtree, left to right.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The number of leaves pushed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf (its leaf hash).
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0, leaf);
        while let Some(&(height, left)) = self.stack.last() {
            if height != node.0 {
                break;
            }
            self.stack.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.size += 1;
    }

    /// The root of the leaves pushed so far: the perfect subtrees joined
    /// right to left, which is how RFC 6962 splits a tree.
    pub fn root(&self) -> Hash {
        let mut nodes = self.stack.iter().rev();
        let Some(&(_, mut root)) = nodes.next() else {
            return empty_root();
        };
        for (_, left) in nodes {
            root = node_hash(left, &root);
        }
        root
    }
}

/// A whole tree held level by level, for many proofs of one tree: built
/// once in O(n), then each inclusion proof in O(log n), where
/// [`inclusion_proof`] recomputes subtrees each time. Pairing each level
/// left to right and carrying an unpaired last node up unchanged builds
/// exactly RFC 6962's tree.
#[derive(Clone, Debug)]
pub struct Tree {
    /// `levels[0]` are the leaves; the last level is the root alone.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new(leaves: Vec<Hash>) -> Tree {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("a level");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    [alone] => *alone,
                    _ => unreachable!("chunks of two"),
                })
                .collect();
            levels.push(above);
        }
        Tree { levels }
    }

    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(root) => *root,
            None => empty_root(),
        }
    }

    /// The same proof as [`inclusion_proof`] of the leaves.
    pub fn inclusion_proof(&self, index: usize) -> Option<Vec<Hash>> {
        if index >= self.levels[0].len() {
            return None;
        }
        let mut proof = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(sibling) = level.get(i ^ 1) {
                proof.push(*sibling);
            }
            i /= 2;
        }
        Some(proof)
    }
}

#[cfg(test)]
#[path = "merkle_tests.rs"]
mod tests;
