//! Fetching over HTTPS on the connected side: TUF repositories and transparency-log
//! checkpoints with consistency proofs.
