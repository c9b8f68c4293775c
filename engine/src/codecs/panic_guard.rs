//! The decoders from other crates, run so that a panic on hostile data
//! becomes a corrupt-image error instead of unwinding out of the engine.
//! Those decoders return errors for the damage they know about; a panic
//! is damage they did not foresee (the fuzzer found one in a JPEG
//! decoder's IDCT on a lossless-process file), and the image is still the
//! one at fault. Our own code is not wrapped: a panic there is our bug and
//! stays an internal error.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::corrupt;
use crate::Error;

/// Runs `decode`; a panic inside it is reported as a corrupt image.
pub(crate) fn guarded<T>(decode: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(decode))
        .unwrap_or_else(|_| Err(corrupt("the decoder failed on this data")))
}

/// An iterator whose `next` is [`guarded`]: after a panic it yields the
/// error once and then ends, since the decoder's state is unknown.
pub(crate) fn guarded_iter<T>(
    mut inner: impl Iterator<Item = Result<T, Error>>,
) -> impl Iterator<Item = Result<T, Error>> {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match catch_unwind(AssertUnwindSafe(|| inner.next())) {
            Ok(next) => next,
            Err(_) => {
                failed = true;
                Some(Err(corrupt("the decoder failed on this data")))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_panic_is_a_corrupt_image() {
        let err = guarded::<()>(|| panic!("index out of bounds")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::CorruptImage);
        assert_eq!(guarded(|| Ok(7)).unwrap(), 7);
    }

    #[test]
    fn an_iterator_ends_after_its_panic() {
        let mut n = 0;
        let inner = std::iter::from_fn(move || {
            n += 1;
            match n {
                1 => Some(Ok(1)),
                2 => panic!("bad frame"),
                _ => Some(Ok(n)),
            }
        });
        let items: Vec<_> = guarded_iter(inner).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1].as_ref().unwrap_err().kind, ErrorKind::CorruptImage);
    }
}
