//! How a proxied origin's response ended. Once nginx has passed an
//! origin's header on (to our header filter, which holds it), an origin
//! that closes the connection mid-body or stops sending until
//! `proxy_read_timeout` does not end the response: nginx closes the
//! upstream connection and only flushes (`ngx_http_upstream_finalize_request`
//! with 502/504 after the header was sent), so the body filter sees a
//! flush without the last buffer, from an origin that is gone.

use std::time::Duration;

use super::request::Request;

/// Why a proxied original stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginCut {
    /// The origin closed (or reset) the connection mid-body.
    Closed,
    /// The origin sent nothing for `proxy_read_timeout`.
    TimedOut,
}

impl Request {
    /// Whether the proxied origin of this request is gone before the last
    /// byte of the body, and why; `quiet_for` is how long ago the origin
    /// last sent something. `None` for a response that is not proxied or
    /// whose origin is still connected.
    pub fn origin_cut(self, quiet_for: Duration) -> Option<OriginCut> {
        let u = self.raw().upstream;
        if u.is_null() {
            return None;
        }
        // SAFETY: a non-null upstream of a live request is live, and so are
        // its pipe and configuration (allocated for the request and the
        // location).
        unsafe {
            if !(*u).peer.connection.is_null() {
                return None;
            }
            let pipe = (*u).pipe;
            if !pipe.is_null() && (*pipe).upstream_eof() != 0 {
                return Some(OriginCut::Closed);
            }
            let conf = (*u).conf;
            if conf.is_null() {
                return Some(OriginCut::Closed);
            }
            // nginx's timers are at millisecond resolution on a cached
            // clock: a quiet time within a few of them of the timeout is
            // the timeout.
            let timeout = Duration::from_millis((*conf).read_timeout as u64);
            if quiet_for + Duration::from_millis(100) >= timeout {
                Some(OriginCut::TimedOut)
            } else {
                Some(OriginCut::Closed)
            }
        }
    }
}
