//! Noticing that a client left while its request waits for work off the
//! event loop, the way nginx's own `ngx_http_test_reading` and
//! `ngx_http_upstream_check_broken_connection` (`proxy_ignore_client_abort
//! off`) do: the request's read handler tests the connection and ends the
//! request with 499, which runs its cleanups (the job's cancel flag).
//!
//! nginx is told about a closed connection once (edge-triggered epoll sets
//! `pending_eof` with the event): a close that arrived while the request
//! was still being read is never reported again. So besides the read
//! handler, the connection is tested when a job is handed over and before
//! a waiting job takes a slot.

use std::ptr::addr_of_mut;

use ngx::ffi::{
    ngx_event_flags, ngx_http_finalize_request, ngx_http_request_t, ngx_post_event,
    ngx_posted_events, ngx_use_epoll_rdhup, NGX_HTTP_CLIENT_CLOSED_REQUEST, NGX_LOG_INFO,
    NGX_USE_EPOLL_EVENT,
};
use ngx::ngx_log_error;

use super::guard::guard;
use super::request::Request;

impl Request {
    /// Whether the client closed or reset the connection. HTTP/1: an EOF
    /// or error pending on the socket (epoll's `EPOLLRDHUP`, else a peek).
    /// HTTP/2 and HTTP/3 streams have no socket of their own: nginx marks
    /// their connection failed when the stream is reset.
    pub fn connection_broken(self) -> bool {
        let c = self.connection_ptr();
        // SAFETY: a live request's connection and its read event are live.
        unsafe {
            if (*c).error() != 0 {
                return true;
            }
            let rev = (*c).read;
            if (*rev).error() != 0 || (*rev).pending_eof() != 0 {
                return true;
            }
            if (*c).fd == -1 {
                return false;
            }
            let rdhup =
                (ngx_event_flags & NGX_USE_EPOLL_EVENT as usize) != 0 && ngx_use_epoll_rdhup != 0;
            if rdhup {
                // epoll reports every close with EPOLLRDHUP (`pending_eof`).
                return false;
            }
            let mut buf = [0u8; 1];
            let n = libc::recv((*c).fd, buf.as_mut_ptr().cast(), 1, libc::MSG_PEEK);
            if n == 0 {
                return true;
            }
            n < 0 && {
                let err = std::io::Error::last_os_error().raw_os_error();
                err != Some(libc::EAGAIN) && err != Some(libc::EINTR)
            }
        }
    }

    /// Ends the request as nginx does when the client left: the status
    /// logged is 499 and the request's cleanups run at once. A request that
    /// is blocked (its job out) is only marked; it is freed once unblocked.
    pub fn end_client_gone(self) {
        let c = self.connection_ptr();
        // SAFETY: the request and its connection are live; nginx keeps a
        // blocked request until it is unblocked, and the caller does not
        // use an unblocked one afterwards.
        unsafe {
            (*c).set_error(1);
            ngx_log_error!(
                NGX_LOG_INFO,
                (*c).log,
                "client prematurely closed connection while the image is processed"
            );
            ngx_http_finalize_request(self.as_ptr(), NGX_HTTP_CLIENT_CLOSED_REQUEST as isize);
        }
    }

    /// Makes the request's read handler test the connection whenever the
    /// client's side has news (data, EOF, reset).
    pub fn watch_client(mut self) {
        self.raw_mut().read_event_handler = Some(check_client);
    }

    /// Runs the request's read handler once more from the event loop, for
    /// a close nginx was told about before the handler was in place.
    pub fn recheck_client(self) {
        let c = self.connection_ptr();
        // SAFETY: the read event belongs to the live connection; nginx
        // removes a posted event when it closes the connection.
        unsafe { ngx_post_event((*c).read, addr_of_mut!(ngx_posted_events)) };
    }
}

/// The read handler installed by [`Request::watch_client`].
unsafe extern "C" fn check_client(r: *mut ngx_http_request_t) {
    guard((), || {
        // SAFETY: nginx calls read handlers with a live request.
        if let Some(request) = unsafe { Request::from_raw(r) } {
            if request.connection_broken() {
                request.end_client_gone();
            }
        }
    })
}
