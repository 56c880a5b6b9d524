//! TUF: the real Sigstore public-good repository from `../shared/testdata`, and repositories
//! built here with tough's editor to show each attack.

mod editor;
mod real;
