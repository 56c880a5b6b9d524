//! Minted fixtures: determinism, proofs, checkpoints, SETs, certificate and SCT structure, forks.

use airlock_tests::{
    CertValidity, CheckpointMode, EcKey, Identity, Instance, Knobs, LEAF_VALIDITY_SECS, Package,
    Predicate, SctMode, TransparencyLog, TufRepoBuilder, canonical_json,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::{Decode, Encode};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{DerSignature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tlog_tiles::Hash;
use x509_cert::Certificate;

use crate::common::{ISSUER, base_time, instance, opts};

/// A signed_note verifier for Rekor-style ECDSA checkpoints.
pub(crate) struct EcdsaNoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl signed_note::Verifier for EcdsaNoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        DerSignature::from_bytes(sig)
            .map(|s| self.key.verify(msg, &s).is_ok())
            .unwrap_or(false)
    }
}

pub(crate) fn note_verifier(log_key: &EcKey) -> EcdsaNoteVerifier {
    let id = Sha256::digest(log_key.spki_der().unwrap());
    EcdsaNoteVerifier {
        name: "airlock.test".into(),
        id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
        key: *log_key.verifying_key(),
    }
}

pub(crate) fn verify_note(log_key: &EcKey, note: &str) -> Result<(), signed_note::NoteError> {
    let v = note_verifier(log_key);
    let list = signed_note::VerifierList::new(vec![Box::new(v)]);
    let n = signed_note::Note::from_bytes(note.as_bytes())?;
    n.verify(&list).map(|_| ())
}

fn b64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap()).unwrap()
}

fn num(v: &Value) -> u64 {
    v.as_str().unwrap().parse().unwrap()
}

fn hash(bytes: Vec<u8>) -> Hash {
    Hash(bytes.try_into().unwrap())
}

#[test]
fn same_seed_gives_byte_identical_outputs() {
    let mint = |seed| {
        let mut i = instance(seed);
        let a = i.sign_blob(b"a", &opts()).unwrap();
        let b = i
            .attest(
                "a",
                [7; 32],
                &Predicate::CycloneDx(vec![Package {
                    name: "x".into(),
                    version: "1".into(),
                }]),
                &opts(),
            )
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let repo = TufRepoBuilder::new(seed, base_time())
            .trusted_root(i.trusted_root_json().unwrap())
            .rotate_root(base_time() + chrono::Duration::days(400))
            .write(dir.path())
            .unwrap();
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for d in [&repo.metadata_dir, &repo.targets_dir] {
            let mut names: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            for p in names {
                files.push((
                    p.file_name().unwrap().to_string_lossy().into(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
        (
            a.json,
            b.json,
            i.trusted_root_json().unwrap(),
            i.client_trust_config_json().unwrap(),
            files,
        )
    };
    let one = mint(5);
    assert_eq!(one, mint(5));
    let other = mint(6);
    assert_ne!(one.0, other.0);
    assert_ne!(one.2, other.2);
    assert_eq!(
        one.4.len(),
        6,
        "2 roots, targets, snapshot, timestamp and 1 target: {:?}",
        one.4.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
}

#[test]
fn bundle_inclusion_proof_checkpoint_and_set_verify() {
    let mut inst = instance(21);
    for i in 0..5 {
        inst.sign_blob(format!("filler {i}").as_bytes(), &opts())
            .unwrap();
    }
    let minted = inst.sign_blob(b"artifact", &opts()).unwrap();
    let bundle: Value = serde_json::from_slice(&minted.json).unwrap();
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    let proof = &entry["inclusionProof"];
    let body = b64(&entry["canonicalizedBody"]);
    let (index, size) = (num(&proof["logIndex"]), num(&proof["treeSize"]));
    assert_eq!((index, size), (5, 6));
    let path: Vec<Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(b64(h)))
        .collect();
    let root = hash(b64(&proof["rootHash"]));
    tlog_tiles::check_record(&path, size, root, index, tlog_tiles::record_hash(&body)).unwrap();

    // The checkpoint is a signed note over this root, with Rekor's key hint.
    let note = proof["checkpoint"]["envelope"].as_str().unwrap();
    verify_note(inst.log().key(), note).unwrap();
    let cp = tlog_tiles::Checkpoint::from_bytes(
        note.split("\n\n")
            .next()
            .unwrap()
            .as_bytes()
            .iter()
            .copied()
            .chain(*b"\n")
            .collect::<Vec<_>>()
            .as_slice(),
    )
    .unwrap();
    assert_eq!((cp.size(), *cp.hash()), (size, root));
    assert_eq!(cp.origin(), inst.log().origin());

    // The SET signs the canonical {body, integratedTime, logID, logIndex}.
    let payload = serde_json::json!({
        "body": entry["canonicalizedBody"],
        "integratedTime": num(&entry["integratedTime"]),
        "logID": hex::encode(b64(&entry["logId"]["keyId"])),
        "logIndex": index,
    });
    let set =
        DerSignature::from_bytes(&b64(&entry["inclusionPromise"]["signedEntryTimestamp"])).unwrap();
    inst.log()
        .key()
        .verifying_key()
        .verify(&canonical_json(&payload), &set)
        .unwrap();

    // The body is a canonical hashedrekord over the artifact digest.
    let body_json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(canonical_json(&body_json), body);
    assert_eq!(body_json["kind"], "hashedrekord");
    assert_eq!(
        body_json["spec"]["data"]["hash"]["value"],
        hex::encode(Sha256::digest(b"artifact"))
    );
}

#[test]
fn consistency_proofs_between_any_sizes_check() {
    let mut inst = instance(22);
    for i in 0..9 {
        inst.sign_blob(format!("a{i}").as_bytes(), &opts()).unwrap();
    }
    let log = inst.log();
    for new in 1..=log.size() {
        let new_cp = log.checkpoint(new).unwrap();
        verify_note(log.key(), &new_cp.note).unwrap();
        for old in 1..=new {
            let p: Vec<Hash> = log
                .consistency_proof(old, new)
                .unwrap()
                .into_iter()
                .map(Hash)
                .collect();
            tlog_tiles::check_tree(
                &p,
                new,
                Hash(new_cp.root),
                old,
                Hash(log.checkpoint(old).unwrap().root),
            )
            .unwrap();
        }
    }
}

#[test]
fn forked_log_gives_two_valid_checkpoints_of_one_size_with_different_roots() {
    let mut inst = instance(23);
    for i in 0..4 {
        inst.sign_blob(format!("a{i}").as_bytes(), &opts()).unwrap();
    }
    let mut fork: TransparencyLog = inst.log().fork(3).unwrap();
    fork.append(b"the other fourth entry".to_vec(), 1).unwrap();
    let (a, b) = (
        inst.log().checkpoint(4).unwrap(),
        fork.checkpoint(4).unwrap(),
    );
    assert_eq!(a.size, b.size);
    assert_ne!(a.root, b.root);
    verify_note(inst.log().key(), &a.note).unwrap();
    verify_note(inst.log().key(), &b.note).unwrap();
    // Both extend the common size-3 prefix.
    let p: Vec<Hash> = fork
        .consistency_proof(3, 4)
        .unwrap()
        .into_iter()
        .map(Hash)
        .collect();
    tlog_tiles::check_tree(&p, 4, Hash(b.root), 3, Hash(inst.log().root(3).unwrap())).unwrap();
}

#[test]
fn checkpoint_from_unknown_key_does_not_verify() {
    let mut inst = instance(24);
    let minted = inst
        .sign_blob(
            b"x",
            &opts().with_knobs(Knobs {
                checkpoint: CheckpointMode::UnknownKey,
                ..Knobs::default()
            }),
        )
        .unwrap();
    let bundle: Value = serde_json::from_slice(&minted.json).unwrap();
    let note = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"].as_str().unwrap();
    assert!(matches!(
        verify_note(inst.log().key(), note),
        Err(signed_note::NoteError::UnverifiedNote | signed_note::NoteError::VerificationError(_))
    ));
    verify_note(inst.rogue_key(), note).unwrap();
}

fn ext<'a>(cert: &'a Certificate, oid: &str) -> Option<&'a x509_cert::ext::Extension> {
    let oid = const_oid::ObjectIdentifier::new_unwrap(oid);
    cert.tbs_certificate
        .extensions
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == oid)
}

#[test]
fn leaf_certificate_is_fulcio_shaped_with_a_verifying_sct() {
    let mut inst = instance(25);
    let minted = inst.sign_blob(b"x", &opts()).unwrap();
    let cert = Certificate::from_der(minted.certificate_der.as_ref().unwrap()).unwrap();
    let tbs = &cert.tbs_certificate;
    assert!(tbs.subject.0.is_empty());
    let validity =
        tbs.validity.not_after.to_unix_duration() - tbs.validity.not_before.to_unix_duration();
    assert_eq!(validity.as_secs() as i64, LEAF_VALIDITY_SECS);
    assert!(ext(&cert, "2.5.29.17").unwrap().critical, "SAN critical");
    assert!(
        ext(&cert, "2.5.29.15").unwrap().critical,
        "key usage critical"
    );
    assert!(ext(&cert, "2.5.29.37").is_some(), "EKU");
    assert_eq!(
        ext(&cert, "1.3.6.1.4.1.57264.1.1")
            .unwrap()
            .extn_value
            .as_bytes(),
        ISSUER.as_bytes()
    );
    let v2 = ext(&cert, "1.3.6.1.4.1.57264.1.8")
        .unwrap()
        .extn_value
        .as_bytes();
    assert_eq!(
        der::asn1::Utf8StringRef::from_der(v2).unwrap().as_str(),
        ISSUER
    );

    // SCT: parse the list, rebuild the precert TBS, verify with the CT log key.
    let sct_ext = ext(&cert, "1.3.6.1.4.1.11129.2.4.2").unwrap();
    let list = der::asn1::OctetString::from_der(sct_ext.extn_value.as_bytes())
        .unwrap()
        .into_bytes();
    let sct = &list[4..];
    assert_eq!(
        u16::from_be_bytes([list[0], list[1]]) as usize,
        list.len() - 2
    );
    let ct_key_der = inst.ct_log_key_der().unwrap();
    assert_eq!(&sct[1..33], Sha256::digest(&ct_key_der).as_slice());
    let ts = &sct[33..41];
    let sig = &sct[47..];
    let mut precert = tbs.clone();
    precert
        .extensions
        .as_mut()
        .unwrap()
        .retain(|e| e.extn_id != sct_ext.extn_id);
    let precert_der = precert.to_der().unwrap();
    let issuer = Certificate::from_der(&inst.ca_chain_der()[0]).unwrap();
    let issuer_spki = issuer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    let mut signed = vec![0u8, 0];
    signed.extend_from_slice(ts);
    signed.extend_from_slice(&[0, 1]);
    signed.extend_from_slice(&Sha256::digest(&issuer_spki));
    signed.extend_from_slice(&(precert_der.len() as u32).to_be_bytes()[1..]);
    signed.extend_from_slice(&precert_der);
    signed.extend_from_slice(&[0, 0]);
    use p256::pkcs8::DecodePublicKey;
    let ct_key = VerifyingKey::from_public_key_der(&ct_key_der).unwrap();
    ct_key
        .verify(&signed, &DerSignature::from_bytes(sig).unwrap())
        .unwrap();
}

#[test]
fn knobs_change_what_they_say() {
    let mut inst: Instance = instance(26);
    let cert = |inst: &mut Instance, knobs: Knobs| {
        let m = inst.sign_blob(b"x", &opts().with_knobs(knobs)).unwrap();
        (
            Certificate::from_der(m.certificate_der.as_ref().unwrap()).unwrap(),
            m,
        )
    };
    let (c, _) = cert(
        &mut inst,
        Knobs {
            sct: SctMode::Missing,
            ..Knobs::default()
        },
    );
    assert!(ext(&c, "1.3.6.1.4.1.11129.2.4.2").is_none());
    let (c, m) = cert(
        &mut inst,
        Knobs {
            cert_validity: CertValidity::Expired,
            ..Knobs::default()
        },
    );
    assert!(
        c.tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs()
            < m.signed_at.timestamp() as u64
    );
    let (c, m) = cert(
        &mut inst,
        Knobs {
            cert_validity: CertValidity::NotYetValid,
            ..Knobs::default()
        },
    );
    assert!(
        c.tbs_certificate
            .validity
            .not_before
            .to_unix_duration()
            .as_secs()
            > m.signed_at.timestamp() as u64 + 1
    );
    let (c, m) = cert(
        &mut inst,
        Knobs {
            wrong_issuer: Some("https://evil.test".into()),
            ..Knobs::default()
        },
    );
    assert_eq!(
        ext(&c, "1.3.6.1.4.1.57264.1.1")
            .unwrap()
            .extn_value
            .as_bytes(),
        b"https://evil.test"
    );
    assert_eq!(m.issuer, ISSUER);
    let (_, m) = cert(
        &mut inst,
        Knobs {
            wrong_identity: Some(Identity::Email("mallory@evil.test".into())),
            ..Knobs::default()
        },
    );
    assert!(matches!(m.identity, Identity::Uri(_)));

    // A tampered body is no longer the logged leaf.
    let m = inst
        .sign_blob(
            b"x",
            &opts().with_knobs(Knobs {
                tamper_body: true,
                ..Knobs::default()
            }),
        )
        .unwrap();
    let b: Value = serde_json::from_slice(&m.json).unwrap();
    let body = b64(&b["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]);
    assert_ne!(body, inst.log().entry(m.log_index).unwrap().body);

    // A wrong path fails tlog_tiles' check.
    let m = inst
        .sign_blob(
            b"x",
            &opts().with_knobs(Knobs {
                wrong_inclusion_path: true,
                ..Knobs::default()
            }),
        )
        .unwrap();
    let b: Value = serde_json::from_slice(&m.json).unwrap();
    let p = &b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
    let path: Vec<Hash> = p["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(b64(h)))
        .collect();
    let leaf = tlog_tiles::record_hash(&inst.log().entry(m.log_index).unwrap().body);
    assert!(
        tlog_tiles::check_record(
            &path,
            num(&p["treeSize"]),
            hash(b64(&p["rootHash"])),
            m.log_index,
            leaf
        )
        .is_err()
    );
}

#[test]
fn dsse_attestation_carries_statement_about_subject() {
    let mut inst = instance(27);
    let m = inst
        .attest("app.tar", [9; 32], &Predicate::Spdx(vec![]), &opts())
        .unwrap();
    let b: Value = serde_json::from_slice(&m.json).unwrap();
    let env = &b["dsseEnvelope"];
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let payload = b64(&env["payload"]);
    assert_eq!(Some(&payload), m.statement.as_ref());
    let st: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(st["subject"][0]["digest"]["sha256"], hex::encode([9u8; 32]));
    let cert = Certificate::from_der(m.certificate_der.as_ref().unwrap()).unwrap();
    let key = VerifyingKey::from_sec1_bytes(
        cert.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )
    .unwrap();
    let sig = DerSignature::from_bytes(&b64(&env["signatures"][0]["sig"])).unwrap();
    key.verify(
        &airlock_tests::pae("application/vnd.in-toto+json", &payload),
        &sig,
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&b64(
        &b["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"],
    ))
    .unwrap();
    assert_eq!(body["kind"], "dsse");
    assert_eq!(
        body["spec"]["payloadHash"]["value"],
        hex::encode(Sha256::digest(&payload))
    );
}

#[test]
fn managed_key_bundle_names_the_key_and_logs_its_pem() {
    let mut inst = instance(28);
    let key = inst.managed_key("release");
    let m = inst.sign_blob_with_key(b"x", &key, &opts()).unwrap();
    assert!(m.certificate_der.is_none());
    let b: Value = serde_json::from_slice(&m.json).unwrap();
    let vm = &b["verificationMaterial"];
    assert!(vm.get("certificate").is_none());
    assert_eq!(b64(&vm["publicKey"]["hint"]), key.key_id().unwrap());
    let body: Value =
        serde_json::from_slice(&b64(&vm["tlogEntries"][0]["canonicalizedBody"])).unwrap();
    let pem = b64(&body["spec"]["signature"]["publicKey"]["content"]);
    assert_eq!(String::from_utf8(pem).unwrap(), key.public_pem().unwrap());
    let sig = DerSignature::from_bytes(&b64(&b["messageSignature"]["signature"])).unwrap();
    key.verifying_key().verify(b"x", &sig).unwrap();
}
