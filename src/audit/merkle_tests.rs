use super::*;

fn h(hex: &str) -> Hash {
    hex::decode(hex).unwrap().try_into().unwrap()
}

/// The leaf data of the Certificate Transparency reference tests (RFC 6962
/// section 2.1.3's example, as the CT implementations test it).
fn ct_leaves() -> Vec<Hash> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|data| leaf_hash(&hex::decode(data).unwrap()))
    .collect()
}

/// The published roots of the first 1 to 8 of those leaves.
const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn roots_are_the_certificate_transparency_reference_roots() {
    assert_eq!(
        root(&[]),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    let leaves = ct_leaves();
    for (n, expected) in CT_ROOTS.iter().enumerate() {
        assert_eq!(root(&leaves[..=n]), h(expected), "size {}", n + 1);
    }
}

/// RFC 6962 section 2.1.3's tree of seven leaves `d0..d6` (hashes
/// `a..f` and `j`), with `g = (a,b)`, `h = (c,d)`, `i = (e,f)`,
/// `k = (g,h)`, `l = (i,j)`: its worked audit paths and consistency proofs.
#[test]
fn proofs_are_the_worked_examples_of_rfc_6962() {
    let leaves: Vec<Hash> = (0u8..7).map(|n| leaf_hash(&[n])).collect();
    let [a, b, c, d, e, f, j] = leaves[..] else {
        unreachable!()
    };
    let (g, hh, i) = (node_hash(&a, &b), node_hash(&c, &d), node_hash(&e, &f));
    let (k, l) = (node_hash(&g, &hh), node_hash(&i, &j));
    let proof = |index| inclusion_proof(&leaves, index).unwrap();
    assert_eq!(proof(0), [b, hh, l]);
    assert_eq!(proof(3), [c, g, l]);
    assert_eq!(proof(4), [f, j, k]);
    assert_eq!(proof(6), [i, k]);
    let consistency = |m| consistency_proof(&leaves, m).unwrap();
    assert_eq!(consistency(3), [c, d, g, l]);
    assert_eq!(consistency(4), [l]);
    assert_eq!(consistency(6), [i, j, k]);
    assert_eq!(root(&leaves), node_hash(&k, &l));
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("event {i}").as_bytes()))
        .collect()
}

#[test]
fn every_leafs_proof_verifies_at_every_size_and_fails_for_anything_else() {
    let all = leaves(40);
    for size in 1..=all.len() {
        let tree = &all[..size];
        let r = root(tree);
        for index in 0..size {
            let proof = inclusion_proof(tree, index).unwrap();
            let (i, n) = (index as u64, size as u64);
            assert!(
                verify_inclusion(&tree[index], i, n, &proof, &r),
                "{index} of {size}"
            );
            let other = leaf_hash(b"another event");
            assert!(!verify_inclusion(&other, i, n, &proof, &r));
            assert!(!verify_inclusion(&tree[index], n, n, &proof, &r));
            if size > 1 {
                let moved = (index + 1) % size;
                assert!(!verify_inclusion(&tree[index], moved as u64, n, &proof, &r));
                assert!(!verify_inclusion(&tree[index], i, n, &proof[1..], &r));
                let mut wrong = proof.clone();
                wrong[0][0] ^= 1;
                assert!(!verify_inclusion(&tree[index], i, n, &wrong, &r));
            }
        }
        assert_eq!(inclusion_proof(tree, size), None);
    }
}

#[test]
fn every_smaller_tree_is_proved_a_prefix_of_every_larger_one() {
    let all = leaves(33);
    for n in 0..=all.len() {
        let new_root = root(&all[..n]);
        for m in 0..=n {
            let old_root = root(&all[..m]);
            let proof = consistency_proof(&all[..n], m).unwrap();
            let (m64, n64) = (m as u64, n as u64);
            assert!(
                verify_consistency(m64, n64, &old_root, &new_root, &proof),
                "{m} of {n}"
            );
            if m == 0 {
                continue;
            }
            // Another old tree of the same size is not a prefix.
            let mut other = all[..m].to_vec();
            other[m - 1] = leaf_hash(b"rewritten");
            let forged = root(&other);
            assert!(
                !verify_consistency(m64, n64, &forged, &new_root, &proof),
                "{m} of {n}"
            );
            if m < n {
                let mut wrong = proof.clone();
                wrong[0][5] ^= 1;
                assert!(!verify_consistency(m64, n64, &old_root, &new_root, &wrong));
                assert!(!verify_consistency(m64, n64, &old_root, &new_root, &[]));
                assert!(!verify_consistency(n64, m64, &new_root, &old_root, &proof));
            }
        }
    }
}

#[test]
fn the_frontier_gives_the_root_of_every_prefix() {
    let all = leaves(70);
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), empty_root());
    for (n, leaf) in all.iter().enumerate() {
        frontier.push(*leaf);
        assert_eq!(frontier.size(), n as u64 + 1);
        assert_eq!(frontier.root(), root(&all[..=n]), "size {}", n + 1);
    }
}

#[test]
fn an_events_leaf_is_its_hash_as_bytes_behind_the_leaf_prefix() {
    let hash = "9f".repeat(32);
    let mut data = vec![0x00];
    data.extend([0x9f; 32]);
    let expected: Hash = Sha256::digest(&data).into();
    assert_eq!(event_leaf(&hash), Some(expected));
    assert_eq!(event_leaf("not hex"), None);
    assert_eq!(event_leaf(&"9f".repeat(31)), None);
}

#[test]
fn a_stored_hash_that_is_not_hex_takes_the_leaf_of_its_text() {
    let hash = "9f".repeat(32);
    assert_eq!(Some(stored_leaf(&hash)), event_leaf(&hash));
    assert_eq!(stored_leaf("not hex"), leaf_hash(b"not hex"));
    assert_ne!(stored_leaf("not hex"), stored_leaf("not hex either"));
}

#[test]
fn a_tree_held_by_levels_gives_the_same_root_and_proofs() {
    let all = leaves(45);
    assert_eq!(Tree::new(Vec::new()).root(), empty_root());
    for size in 1..=all.len() {
        let tree = Tree::new(all[..size].to_vec());
        assert_eq!(tree.size(), size as u64);
        assert_eq!(tree.root(), root(&all[..size]), "size {size}");
        for index in 0..=size {
            assert_eq!(
                tree.inclusion_proof(index),
                inclusion_proof(&all[..size], index),
                "{index} of {size}"
            );
        }
    }
}
