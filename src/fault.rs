//! Deliberate faults for the tests (cargo feature `fault-injection`, never
//! in a normal build): they prove that a panic in a job, a filter or the
//! job's completion (sending the response, the endpoint's completion)
//! costs one request, not the worker, and that
//! `image_timeout` holds while a job is stuck where it cannot check.

use std::time::Duration;

use crate::nginx::Request;

/// How long a [`Fault::Stall`] job stalls.
pub const STALL: Duration = Duration::from_secs(4);

/// Where the request asks the module to panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// In the engine job, on a pool thread.
    Job,
    /// In the header filter, on the event loop.
    Filter,
    /// When the job's result is back on the event loop, before it is sent.
    Completion,
    /// While a response (image or error) of the module is being sent,
    /// every time: also the 500 that replaces a failed completion.
    Response,
    /// When an endpoint request sends what its fetch prepared.
    Endpoint,
    /// Not a panic: the job stalls for [`STALL`] without looking at its
    /// control, like a long encoder call, before it starts.
    Stall,
}

/// The fault the request asks for with `X-Image-Fault`.
pub fn requested(request: Request) -> Option<Fault> {
    if !cfg!(feature = "fault-injection") {
        return None;
    }
    match request.header_in("X-Image-Fault")? {
        b"panic-job" => Some(Fault::Job),
        b"panic-filter" => Some(Fault::Filter),
        b"panic-completion" => Some(Fault::Completion),
        b"stall-job" => Some(Fault::Stall),
        b"panic-response" => Some(Fault::Response),
        b"panic-endpoint" => Some(Fault::Endpoint),
        _ => None,
    }
}
