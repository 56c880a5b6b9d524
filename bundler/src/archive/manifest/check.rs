//! The rules a manifest keeps beyond its JSON shape: names and notes bounded and printable,
//! every blob listed once and referred to, every reference to a listed blob, each artifact's
//! files adding up to its size (a file artifact one plain file with its digest, an image a
//! well-formed OCI layout holding its digest), proofs and paths bounded.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::types::{Artifact, ArtifactKind, Manifest};
use super::{
    FORMAT_VERSION, MAX_CHECKPOINT_LEN, MAX_NAME_LEN, MAX_NOTES_LEN, MAX_PROOF_HASHES,
    MAX_PROOF_POSITIONS, MAX_SEQUENCE, ManifestError, OCI_BLOB_PREFIX, invalid,
};
use crate::archive::digest::Sha256Digest;

impl Manifest {
    /// Checks every rule `from_json` promises; writers call it before signing.
    pub fn check(&self) -> Result<(), ManifestError> {
        if self.version != FORMAT_VERSION {
            return Err(ManifestError::UnsupportedVersion {
                found: self.version,
            });
        }
        if self.archive_id.len() != 32
            || !self
                .archive_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("archive_id", "must be 32 lowercase hex digits"));
        }
        check_name("publisher.name", &self.publisher.name)?;
        if self.publisher.sequence > MAX_SEQUENCE {
            return Err(invalid(
                "publisher.sequence",
                "must be below 2^63 (sites store it as a signed 64-bit integer)",
            ));
        }
        if let Some(site) = &self.site {
            check_name("site", site)?;
        }
        if let Some(notes) = &self.notes
            && (notes.len() > MAX_NOTES_LEN || notes.chars().any(is_bad_control))
        {
            return Err(invalid(
                "notes",
                "must be at most 64 KiB without control characters other than newline and tab",
            ));
        }

        let mut blobs = BTreeMap::new();
        let mut total: u64 = 0;
        for blob in &self.blobs {
            if blobs.insert(blob.digest, (blob.size, false)).is_some() {
                return Err(ManifestError::DuplicateBlob(blob.digest));
            }
            total = total
                .checked_add(blob.size)
                .ok_or_else(|| invalid("blobs", "sizes overflow"))?;
        }
        // Marks `digest` as referred to and returns its size.
        let mut refer =
            |field: &dyn Fn() -> String, digest: &Sha256Digest| match blobs.get_mut(digest) {
                Some((size, seen)) => {
                    *seen = true;
                    Ok(*size)
                }
                None => Err(ManifestError::DanglingReference {
                    field: field(),
                    digest: *digest,
                }),
            };

        let mut names = HashSet::new();
        for (i, repo) in self.trust.iter().enumerate() {
            let field = format!("trust[{i}]");
            airlock_trust_root::RepositoryName::new(&repo.name)
                .map_err(|e| invalid(&format!("{field}.name"), &e.to_string()))?;
            if !names.insert(repo.name.as_str()) {
                return Err(invalid(
                    &format!("{field}.name"),
                    "repeats another repository",
                ));
            }
            for (list, files) in [("metadata", &repo.metadata), ("targets", &repo.targets)] {
                let mut paths = HashSet::new();
                for (j, file) in files.iter().enumerate() {
                    if !paths.insert(&file.path) {
                        return Err(invalid(
                            &format!("{field}.{list}[{j}].path"),
                            "repeats another file",
                        ));
                    }
                    refer(&|| format!("{field}.{list}[{j}]"), &file.digest)?;
                }
            }
        }

        let positions = self
            .logs
            .iter()
            .flat_map(|log| &log.consistency)
            .map(|proof| proof.hashes.len())
            .fold(0, usize::saturating_add);
        if positions > MAX_PROOF_POSITIONS {
            return Err(invalid(
                "logs",
                &format!("more than {MAX_PROOF_POSITIONS} positions in all consistency paths"),
            ));
        }
        let mut origins = HashSet::new();
        for (i, log) in self.logs.iter().enumerate() {
            let field = format!("logs[{i}]");
            if log.origin.is_empty()
                || log.origin.len() > MAX_NAME_LEN
                || log.origin.chars().any(char::is_control)
            {
                return Err(invalid(
                    &format!("{field}.origin"),
                    "must be 1..=255 bytes without control characters",
                ));
            }
            if !origins.insert(log.origin.as_str()) {
                return Err(invalid(&format!("{field}.origin"), "repeats another log"));
            }
            if log.checkpoint.len() > MAX_CHECKPOINT_LEN
                || log.checkpoint.contains('\r')
                || log.checkpoint.split('\n').next() != Some(log.origin.as_str())
            {
                return Err(invalid(
                    &format!("{field}.checkpoint"),
                    "must be at most 64 KiB without carriage returns and start with the origin line",
                ));
            }
            let mut from_sizes = HashSet::new();
            for (j, proof) in log.consistency.iter().enumerate() {
                let proof_field = format!("{field}.consistency[{j}]");
                if proof.from_size == 0 || proof.from_size >= proof.to_size {
                    return Err(invalid(
                        &proof_field,
                        "from_size must be greater than 0 and less than to_size",
                    ));
                }
                if !from_sizes.insert(proof.from_size) {
                    return Err(invalid(
                        &proof_field,
                        "repeats the from_size of another proof",
                    ));
                }
                if proof.hashes.len() > MAX_PROOF_HASHES {
                    return Err(invalid(&proof_field, "has more than 128 hashes"));
                }
            }
        }

        let mut artifact_names = HashSet::new();
        for (i, artifact) in self.artifacts.iter().enumerate() {
            let field = format!("artifacts[{i}]");
            check_name(&format!("{field}.name"), &artifact.name)?;
            if !artifact_names.insert(artifact.name.as_str()) {
                return Err(invalid(
                    &format!("{field}.name"),
                    "repeats another artifact",
                ));
            }
            if artifact.media_type.is_empty()
                || artifact.media_type.len() > MAX_NAME_LEN
                || !artifact.media_type.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(invalid(
                    &format!("{field}.media_type"),
                    "must be 1..=255 printable ASCII characters",
                ));
            }
            let mut paths = BTreeSet::new();
            let mut size: u64 = 0;
            for (j, file) in artifact.files.iter().enumerate() {
                if !paths.insert(file.path.as_str()) {
                    return Err(invalid(
                        &format!("{field}.files[{j}].path"),
                        "repeats another file",
                    ));
                }
                let blob_size = refer(&|| format!("{field}.files[{j}]"), &file.digest)?;
                size = size.saturating_add(blob_size);
            }
            match artifact.kind {
                ArtifactKind::File => {
                    let [file] = artifact.files.as_slice() else {
                        return Err(invalid(
                            &format!("{field}.files"),
                            "a file artifact has exactly one file",
                        ));
                    };
                    if file.path.as_str().contains('/') || file.digest != artifact.digest {
                        return Err(invalid(
                            &format!("{field}.files"),
                            "a file artifact's file is a plain name with the artifact's digest",
                        ));
                    }
                }
                ArtifactKind::OciImage => check_oci_layout(&field, artifact, &paths)?,
            }
            for (algorithm, hex) in artifact.other_digests.declared() {
                if hex.len() != 2 * algorithm.output_len()
                    || !hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(invalid(
                        &format!("{field}.other_digests.{}", algorithm.name()),
                        "must be the digest in lowercase hex",
                    ));
                }
            }
            if size != artifact.size {
                return Err(invalid(
                    &format!("{field}.size"),
                    &format!("is {} but its files add up to {size}", artifact.size),
                ));
            }
            let evidence = &artifact.evidence;
            for (list, digests) in [
                ("bundles", &evidence.bundles),
                ("attestations", &evidence.attestations),
                ("sboms", &evidence.sboms),
            ] {
                for (j, digest) in digests.iter().enumerate() {
                    refer(&|| format!("{field}.evidence.{list}[{j}]"), digest)?;
                }
            }
            for (j, signed) in evidence.signed_payloads.iter().enumerate() {
                refer(
                    &|| format!("{field}.evidence.signed_payloads[{j}].bundle"),
                    &signed.bundle,
                )?;
                refer(
                    &|| format!("{field}.evidence.signed_payloads[{j}].payload"),
                    &signed.payload,
                )?;
            }
        }

        if let Some((digest, _)) = blobs.iter().find(|(_, (_, seen))| !*seen) {
            return Err(ManifestError::UnreferencedBlob(*digest));
        }
        Ok(())
    }
}

/// An image's files: `oci-layout`, `index.json` and `blobs/sha256/<hex>` files, each holding
/// the blob `<hex>` names, and nothing else; the artifact's digest is one of those blobs.
fn check_oci_layout(
    field: &str,
    artifact: &Artifact,
    paths: &BTreeSet<&str>,
) -> Result<(), ManifestError> {
    if !paths.contains("oci-layout") || !paths.contains("index.json") {
        return Err(invalid(
            &format!("{field}.files"),
            "an OCI image layout needs oci-layout and index.json",
        ));
    }
    let mut digest_found = false;
    for (j, file) in artifact.files.iter().enumerate() {
        let path = file.path.as_str();
        if path == "oci-layout" || path == "index.json" {
            continue;
        }
        let Some(named) = path
            .strip_prefix(OCI_BLOB_PREFIX)
            .and_then(|hex| Sha256Digest::from_hex(hex).ok())
        else {
            return Err(invalid(
                &format!("{field}.files[{j}].path"),
                "an OCI image layout holds only oci-layout, index.json and \
                 blobs/sha256/<64 lowercase hex>",
            ));
        };
        if named != file.digest {
            return Err(invalid(
                &format!("{field}.files[{j}].digest"),
                &format!("is {}, but its path names {named}", file.digest),
            ));
        }
        digest_found |= named == artifact.digest;
    }
    if !digest_found {
        return Err(invalid(
            &format!("{field}.digest"),
            "is not the digest of one of the image's blobs/sha256/ files",
        ));
    }
    Ok(())
}

fn is_bad_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

fn check_name(field: &str, name: &str) -> Result<(), ManifestError> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || name.chars().any(char::is_control)
        || name.trim() != name
    {
        return Err(invalid(
            field,
            "must be 1..=255 bytes, no control characters, no surrounding spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::manifest::MAX_SEQUENCE;
    use crate::archive::manifest::tests::{digest, file, sample};

    /// The field and reason of the `Invalid` error `manifest` fails with.
    fn invalid_in(manifest: &Manifest) -> (String, String) {
        match manifest.check() {
            Err(ManifestError::Invalid { field, reason }) => (field, reason),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_digests_must_be_lowercase_hex_of_their_length() {
        let mut manifest = sample();
        manifest.artifacts[0].other_digests.sha512 = Some("ab".repeat(64));
        manifest.check().unwrap();
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
        for bad in ["ab".repeat(63), "AB".repeat(64), "zz".repeat(64)] {
            manifest.artifacts[0].other_digests.sha512 = Some(bad);
            assert_eq!(
                invalid_in(&manifest),
                (
                    "artifacts[0].other_digests.sha512".to_owned(),
                    "must be the digest in lowercase hex".to_owned()
                )
            );
        }
        // Only SHA-384 and SHA-512 have a place.
        let json = String::from_utf8(sample().to_json()).unwrap().replace(
            "\"evidence\":",
            "\"other_digests\":{\"md5\":\"00\"},\"evidence\":",
        );
        assert!(matches!(
            Manifest::from_json(json.as_bytes()),
            Err(ManifestError::Syntax(_))
        ));
    }

    #[test]
    fn signed_payloads_are_left_out_when_empty_and_must_refer_to_listed_blobs() {
        // Without any, the manifest is what it was before the field existed.
        let json = String::from_utf8(sample().to_json()).unwrap();
        assert!(!json.contains("signed_payloads"), "{json}");

        let mut manifest = sample();
        for text in ["bundle", "payload"] {
            manifest.blobs.push(crate::archive::BlobEntry {
                digest: digest(text),
                size: text.len() as u64,
            });
        }
        manifest.artifacts[0]
            .evidence
            .signed_payloads
            .push(crate::archive::SignedPayload {
                bundle: digest("bundle"),
                payload: digest("payload"),
            });
        manifest.check().unwrap();
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
        assert_eq!(
            manifest.artifacts[0].evidence.blobs().collect::<Vec<_>>(),
            [&digest("bundle"), &digest("payload")]
        );

        manifest.artifacts[0].evidence.signed_payloads[0].payload = digest("absent");
        assert!(matches!(
            manifest.check(),
            Err(ManifestError::DanglingReference { field, .. })
                if field == "artifacts[0].evidence.signed_payloads[0].payload"
        ));
    }

    #[test]
    fn a_sequence_must_fit_a_signed_64_bit_integer() {
        let mut manifest = sample();
        manifest.publisher.sequence = MAX_SEQUENCE;
        manifest.check().unwrap();
        for sequence in [MAX_SEQUENCE + 1, u64::MAX] {
            manifest.publisher.sequence = sequence;
            assert_eq!(
                invalid_in(&manifest),
                (
                    "publisher.sequence".to_owned(),
                    "must be below 2^63 (sites store it as a signed 64-bit integer)".to_owned()
                ),
                "{sequence}"
            );
        }
    }

    #[test]
    fn an_image_digest_must_be_one_of_its_layout_blobs() {
        // index.json is the image's file, but not one of its blobs/sha256/ files.
        let mut manifest = sample();
        manifest.artifacts[0].digest = digest("index");
        assert_eq!(invalid_in(&manifest).0, "artifacts[0].digest");
    }

    #[test]
    fn a_layout_blob_path_must_name_its_digest() {
        let mut manifest = sample();
        manifest.artifacts[0].files[3].digest = digest("image");
        let (field, reason) = invalid_in(&manifest);
        assert_eq!(field, "artifacts[0].files[3].digest");
        assert!(reason.contains(&digest("layer").to_string()), "{reason}");

        let other_hex = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
        for path in [
            "manifest.json".to_owned(),
            format!("blobs/sha512/{other_hex}"),
            format!("blobs/sha256/{}", other_hex.to_uppercase()),
            format!("blobs/sha256/{other_hex}/x"),
            "blobs/sha256/ca97".to_owned(),
        ] {
            let mut manifest = sample();
            manifest.artifacts[0]
                .files
                .push(file(&path, digest("layer")));
            assert_eq!(
                invalid_in(&manifest).0,
                "artifacts[0].files[4].path",
                "{path}"
            );
        }
    }

    #[test]
    fn proofs_need_distinct_from_sizes_strictly_between_0_and_to_size() {
        let out_of_range = "from_size must be greater than 0 and less than to_size";
        for from_size in [0, 10, 11] {
            let mut manifest = sample();
            manifest.logs[0].consistency[0].from_size = from_size;
            assert_eq!(
                invalid_in(&manifest),
                ("logs[0].consistency[0]".to_owned(), out_of_range.to_owned()),
                "from_size {from_size}"
            );
        }
        // A repeated size is reported at the second proof with it.
        let mut manifest = sample();
        manifest.logs[0].consistency[0].from_size = 7;
        assert_eq!(
            invalid_in(&manifest),
            (
                "logs[0].consistency[1]".to_owned(),
                "repeats the from_size of another proof".to_owned()
            )
        );
    }

    #[test]
    fn a_checkpoint_must_not_contain_carriage_returns() {
        for checkpoint in [
            "log.example/1\r\n10\nAAAA\n\n\u{2014} log.example/1 c2ln\n",
            "log.example/1\n10\nAAAA\n\n\u{2014} log.example/1 c2ln\r\n",
        ] {
            let mut manifest = sample();
            manifest.logs[0].checkpoint = checkpoint.into();
            assert_eq!(invalid_in(&manifest).0, "logs[0].checkpoint");
        }
    }
}
