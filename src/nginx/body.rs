//! Response bodies: reading the chain a body filter receives, and sending a
//! response through the filter chain — from the top (a phase or content
//! handler) or from inside our filter (only the filters after ours).

use ngx::core::Status;
use ngx::ffi::{
    ngx_alloc_chain_link, ngx_buf_t, ngx_chain_t, ngx_http_output_body_filter_pt,
    ngx_http_output_filter, ngx_http_output_header_filter_pt, ngx_http_request_t,
    ngx_http_send_header, ngx_int_t, ngx_pcalloc,
};

use super::config::Config;
use super::request::Request;

/// Where a response enters the filter chain.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sink {
    /// From a phase or content handler: through every filter, ours included.
    Top,
    /// From inside our filter: only the filters after ours.
    Next,
}

type HeaderFilter = unsafe extern "C" fn(*mut ngx_http_request_t) -> ngx_int_t;
type BodyFilter = unsafe extern "C" fn(*mut ngx_http_request_t, *mut ngx_chain_t) -> ngx_int_t;

static mut NEXT_HEADER_FILTER: ngx_http_output_header_filter_pt = None;
static mut NEXT_BODY_FILTER: ngx_http_output_body_filter_pt = None;

/// Puts our filters on top of the chains. Taking the [`Config`] proves this
/// runs during configuration, on nginx's single configuration thread.
pub fn install_filters(_config: &Config, header: HeaderFilter, body: BodyFilter) {
    // SAFETY: the top-filter globals are only written during configuration,
    // which is single-threaded; afterwards they are read-only.
    unsafe {
        NEXT_HEADER_FILTER = ngx::ffi::ngx_http_top_header_filter;
        ngx::ffi::ngx_http_top_header_filter = Some(header);
        NEXT_BODY_FILTER = ngx::ffi::ngx_http_top_body_filter;
        ngx::ffi::ngx_http_top_body_filter = Some(body);
    }
}

/// The body chain a body filter received (null: nothing new, a flush).
pub struct InChain(*mut ngx_chain_t);

/// A buffer of the original was only in a file: the copy filter should have
/// read it into memory, and skipping it would silently corrupt the image.
#[derive(Debug)]
pub struct NotInMemory;

impl InChain {
    /// # Safety
    /// `chain` must be null or the valid chain nginx passed to the body
    /// filter, used only during that call.
    pub unsafe fn from_raw(chain: *mut ngx_chain_t) -> InChain {
        InChain(chain)
    }

    /// Marks every buffer as consumed, appending memory buffers to `into`
    /// when given; returns whether the last buffer was seen. Consumed
    /// buffers go back to their owner (e.g. the upstream's buffer pool).
    /// A subrequest's body never has `last_buf` (that ends the client's
    /// response): its end is the `last_in_chain` buffer.
    pub fn consume(
        &self,
        request: Request,
        mut into: Option<&mut Vec<u8>>,
    ) -> Result<bool, NotInMemory> {
        let subrequest = !request.is_main();
        let mut last = false;
        let mut chain = self.0;
        // SAFETY: each link and buffer of a valid chain is valid.
        unsafe {
            while !chain.is_null() {
                let b = (*chain).buf;
                if !b.is_null() {
                    let in_memory = (*b).temporary() != 0 || (*b).memory() != 0 || (*b).mmap() != 0;
                    if in_memory && !(*b).pos.is_null() && (*b).last > (*b).pos {
                        let len = (*b).last.offset_from((*b).pos) as usize;
                        if let Some(v) = into.as_deref_mut() {
                            v.extend_from_slice(std::slice::from_raw_parts((*b).pos, len));
                        }
                    } else if into.is_some()
                        && (*b).in_file() != 0
                        && (*b).file_last > (*b).file_pos
                    {
                        return Err(NotInMemory);
                    }
                    (*b).pos = (*b).last;
                    if (*b).in_file() != 0 {
                        (*b).file_pos = (*b).file_last;
                    }
                    if (*b).last_buf() != 0 || (subrequest && (*b).last_in_chain() != 0) {
                        last = true;
                    }
                }
                chain = (*chain).next;
            }
        }
        Ok(last)
    }

    /// Passes the chain on, untouched, to the filters after ours.
    pub fn pass(self, request: Request) -> ngx_int_t {
        next_body(request, self.0)
    }
}

/// Sends the response header through the filters after ours.
pub fn pass_header(request: Request) -> ngx_int_t {
    // SAFETY: set once at configuration, read-only afterwards.
    match unsafe { NEXT_HEADER_FILTER } {
        // SAFETY: the request is live (contract on `Request`).
        Some(next) => unsafe { next(request.as_ptr()) },
        None => Status::NGX_ERROR.0,
    }
}

/// Lets buffered output of the filters after ours flow on.
pub fn flush(request: Request) -> ngx_int_t {
    next_body(request, std::ptr::null_mut())
}

fn next_body(request: Request, chain: *mut ngx_chain_t) -> ngx_int_t {
    // SAFETY: set once at configuration, read-only afterwards.
    match unsafe { NEXT_BODY_FILTER } {
        // SAFETY: the request is live; `chain` is null, the chain nginx
        // passed to our filter, or one built from the request pool.
        Some(next) => unsafe { next(request.as_ptr(), chain) },
        None => Status::NGX_ERROR.0,
    }
}

impl Request {
    /// Sends the prepared header and then `body` as the whole response body
    /// (nothing more for a header-only response).
    ///
    /// nginx's buffer points into `body` until the response is written, so
    /// it must be memory that stays untouched for the rest of the request:
    /// the module's context (in the request pool) holds it.
    pub fn send_response(self, body: &[u8], sink: Sink) -> ngx_int_t {
        let rc = match sink {
            // SAFETY: the request is live.
            Sink::Top => unsafe { ngx_http_send_header(self.as_ptr()) },
            Sink::Next => pass_header(self),
        };
        if rc == Status::NGX_ERROR.0 || rc > Status::NGX_OK.0 || self.header_only() {
            return rc;
        }
        let pool = self.pool().as_ptr();
        // SAFETY: buffer and link come from the request pool; the buffer
        // describes `body`, which outlives the request's output (see above).
        unsafe {
            let b = ngx_pcalloc(pool, size_of::<ngx_buf_t>()) as *mut ngx_buf_t;
            let cl = ngx_alloc_chain_link(pool);
            if b.is_null() || cl.is_null() {
                return Status::NGX_ERROR.0;
            }
            let start = body.as_ptr() as *mut u8;
            (*b).start = start;
            (*b).pos = start;
            (*b).last = start.add(body.len());
            (*b).end = (*b).last;
            (*b).set_memory(u32::from(!body.is_empty()));
            (*b).set_last_buf(1);
            (*b).set_last_in_chain(1);
            (*cl).buf = b;
            (*cl).next = std::ptr::null_mut();
            match sink {
                Sink::Top => ngx_http_output_filter(self.as_ptr(), cl),
                Sink::Next => next_body(self, cl),
            }
        }
    }
}
