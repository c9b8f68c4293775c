//! Deliberate panics for the tests (cargo feature `fault-injection`, never
//! in a normal build): they prove that a panic in a job or in a filter
//! costs one request, not the worker.

use crate::nginx::Request;

/// Where the request asks the module to panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// In the engine job, on a pool thread.
    Job,
    /// In the header filter, on the event loop.
    Filter,
}

/// The fault the request asks for with `X-Image-Fault`.
pub fn requested(request: Request) -> Option<Fault> {
    if !cfg!(feature = "fault-injection") {
        return None;
    }
    match request.header_in("X-Image-Fault")? {
        b"panic-job" => Some(Fault::Job),
        b"panic-filter" => Some(Fault::Filter),
        _ => None,
    }
}
