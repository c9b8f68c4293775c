//! Subrequests of a [`Request`]: starting one to another location of this
//! server, giving it its own (anonymised) request headers, handing its
//! response headers to the parent, and waking the parent when it is done.

use ngx::core::Status;
use ngx::ffi::{
    ngx_http_request_t, ngx_http_subrequest, ngx_list_init, ngx_str_t, ngx_table_elt_t,
    NGX_HTTP_SUBREQUEST_WAITED,
};

use super::guard::bytes;
use super::headers::HeaderError;
use super::request::Request;

/// A handler nginx calls with the request (a `write_event_handler`).
pub type RequestHandler = unsafe extern "C" fn(*mut ngx_http_request_t);

impl Request {
    /// The request target as the client sent it (path and query, nothing
    /// decoded or merged).
    pub fn unparsed_uri(&self) -> &[u8] {
        bytes(&self.raw().unparsed_uri)
    }

    /// Whether nginx finalized this (sub)request.
    pub fn is_done(self) -> bool {
        self.raw().done() != 0
    }

    /// Starts a GET subrequest for `uri` (decoded, normalised) and `args`
    /// (still escaped), to be run once the current handler returns. It is
    /// "waited": nginx marks it done even when it finishes while another
    /// request is active, and wakes this request through its write handler.
    pub fn subrequest(self, uri: &[u8], args: Option<&[u8]>) -> Option<Request> {
        let mut uri = self.pool_str(uri)?;
        let mut args = match args {
            Some(args) => Some(self.pool_str(args)?),
            None => None,
        };
        let args_ptr = args
            .as_mut()
            .map_or(std::ptr::null_mut(), |a| a as *mut ngx_str_t);
        let mut sr: *mut ngx_http_request_t = std::ptr::null_mut();
        // SAFETY: the request is live; uri and args are in its pool, which
        // the subrequest shares; nginx fills `sr` on success.
        let rc = unsafe {
            ngx_http_subrequest(
                self.as_ptr(),
                &mut uri,
                args_ptr,
                &mut sr,
                std::ptr::null_mut(),
                NGX_HTTP_SUBREQUEST_WAITED as usize,
            )
        };
        if rc != Status::NGX_OK.0 {
            return None;
        }
        // SAFETY: nginx just created the subrequest; it lives as long as
        // its main request.
        unsafe { Request::from_raw(sr) }
    }

    /// Keeps the request alive after its content handler returns
    /// `NGX_DONE` while a subrequest works for it (the handler then ends
    /// the request itself with [`finalize`](Self::finalize)), as nginx's
    /// own request-body reader does.
    pub fn retain(self) {
        let mut main = self.main();
        let m = main.raw_mut();
        m.set_count(m.count() + 1);
    }

    /// Sets the handler nginx calls when the request is woken (a finished
    /// subrequest posts its parent) or its connection can be written.
    pub fn set_write_handler(mut self, handler: RequestHandler) {
        self.raw_mut().write_event_handler = Some(handler);
    }

    /// Gives a subrequest request headers of its own: `Host` (the parent's
    /// unless `host` is given) and `headers`, nothing else. nginx starts a
    /// subrequest with a copy of its parent's headers, so without this a
    /// proxied fetch would carry the client's cookies and credentials.
    pub fn replace_headers_in(
        mut self,
        host: Option<&[u8]>,
        headers: &[(&str, &[u8])],
    ) -> Result<(), HeaderError> {
        let old = &self.raw().headers_in;
        let (old_host, server) = (old.host, old.server);
        // SAFETY: every field of ngx_http_headers_in_t is a pointer, a
        // string, a number or a bit: all-zero is "no header" (as nginx's
        // own pcalloc'ed requests start).
        let mut fresh: ngx::ffi::ngx_http_headers_in_t = unsafe { std::mem::zeroed() };
        fresh.server = server;
        fresh.content_length_n = -1;
        fresh.keep_alive_n = -1;
        let pool = self.pool().as_ptr();
        // SAFETY: the list header is ours; nginx allocates its first part
        // from the request pool.
        let rc = unsafe {
            ngx_list_init(
                &mut fresh.headers,
                pool,
                headers.len() + 1,
                size_of::<ngx_table_elt_t>(),
            )
        };
        if rc != Status::NGX_OK.0 {
            return Err(HeaderError);
        }
        let hin = &mut self.raw_mut().headers_in;
        *hin = fresh;
        // The list's `last` pointed at the first part inside `fresh`.
        hin.headers.last = &mut hin.headers.part;
        let host_value = match host {
            Some(host) => Some(self.pool_str(host).ok_or(HeaderError)?),
            // SAFETY: a non-null host header of the live parent is live.
            None if !old_host.is_null() => Some(unsafe { (*old_host).value }),
            None => None,
        };
        if let Some(value) = host_value {
            let h = self.push_header_in("Host", value)?;
            let r = self.raw_mut();
            r.headers_in.host = h;
            if host.is_some() {
                r.headers_in.server = value;
            }
        }
        for (name, value) in headers {
            let value = self.pool_str(value).ok_or(HeaderError)?;
            let h = self.push_header_in(name, value)?;
            let hin = &mut self.raw_mut().headers_in;
            let slot = match name.to_ascii_lowercase().as_str() {
                "user-agent" => &mut hin.user_agent,
                "accept" => &mut hin.accept,
                "via" => &mut hin.via,
                "authorization" => &mut hin.authorization,
                "referer" => &mut hin.referer,
                #[cfg(ngx_has_header_links)]
                "cookie" => &mut hin.cookie,
                _ => continue,
            };
            if slot.is_null() {
                *slot = h;
            }
        }
        Ok(())
    }

    /// Appends a request header (name and value copied into the pool).
    fn push_header_in(
        mut self,
        name: &str,
        value: ngx_str_t,
    ) -> Result<*mut ngx_table_elt_t, HeaderError> {
        let key = self.pool_str(name.as_bytes()).ok_or(HeaderError)?;
        let lowcase = self
            .pool_str(name.to_ascii_lowercase().as_bytes())
            .ok_or(HeaderError)?;
        // SAFETY: headers_in.headers was initialised above with room for
        // ngx_table_elt_t elements; ngx_list_push returns room for one.
        unsafe {
            let h = ngx::ffi::ngx_list_push(&mut self.raw_mut().headers_in.headers)
                as *mut ngx_table_elt_t;
            if h.is_null() {
                return Err(HeaderError);
            }
            (*h).hash = 1;
            (*h).key = key;
            (*h).value = value;
            (*h).lowcase_key = lowcase.data;
            #[cfg(ngx_has_header_links)]
            {
                (*h).next = std::ptr::null_mut();
            }
            Ok(h)
        }
    }

    /// Every request header, in order, for deciding what a fetch carries.
    pub fn headers_in(&self) -> Vec<(&str, &[u8])> {
        super::headers::elements(&self.conf_source().headers_in.headers)
            .filter_map(|h| {
                // SAFETY: elements of a live request's header list.
                let h = unsafe { &*h };
                std::str::from_utf8(bytes(&h.key))
                    .ok()
                    .map(|name| (name, bytes(&h.value)))
            })
            .collect()
    }

    /// Takes over the response headers of `from` (a subrequest whose
    /// answer this request sends): status, type, length, validators and
    /// every other header, as if this request had received them.
    pub fn adopt_headers_out(mut self, from: Request) {
        // Both requests share the main request's pool, so the header
        // elements stay valid; the list header is copied, and a list whose
        // last part is its first must point at the copy's own first part.
        let src = &from.raw().headers_out;
        // SAFETY: a plain copy of nginx's structure (pointers into the
        // shared pool); no destructor runs on either side.
        let mut copy = unsafe { std::ptr::read(src) };
        if std::ptr::eq(copy.headers.last, &src.headers.part) {
            copy.headers.last = std::ptr::null_mut();
        }
        if std::ptr::eq(copy.trailers.last, &src.trailers.part) {
            copy.trailers.last = std::ptr::null_mut();
        }
        let r = self.raw_mut();
        r.headers_out = copy;
        let out = &mut r.headers_out;
        if out.headers.last.is_null() {
            out.headers.last = &mut out.headers.part;
        }
        if out.trailers.last.is_null() {
            out.trailers.last = &mut out.trailers.part;
        }
    }
}
