//! Request and response headers of a [`Request`]: get, set, add and remove
//! any header by name, plus the headers nginx tracks by pointer
//! (`Content-Length`, `ETag`...), which must be hidden through that pointer.

use ngx::ffi::{ngx_list_part_t, ngx_list_push, ngx_list_t, ngx_str_t, ngx_table_elt_t};

use super::guard::{bytes, static_str};
use super::request::Request;

/// A response header could not be added (the request pool is exhausted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderError;

/// Response headers that nginx keeps a pointer to in `headers_out`, besides
/// the list: removing one must also clear that pointer, or nginx sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracked {
    ContentLength,
    ETag,
    AcceptRanges,
    Expires,
    LastModified,
    CacheControl,
}

impl Tracked {
    const ALL: [Tracked; 6] = [
        Tracked::ContentLength,
        Tracked::ETag,
        Tracked::AcceptRanges,
        Tracked::Expires,
        Tracked::LastModified,
        Tracked::CacheControl,
    ];

    fn name(self) -> &'static str {
        match self {
            Tracked::ContentLength => "Content-Length",
            Tracked::ETag => "ETag",
            Tracked::AcceptRanges => "Accept-Ranges",
            Tracked::Expires => "Expires",
            Tracked::LastModified => "Last-Modified",
            Tracked::CacheControl => "Cache-Control",
        }
    }
}

/// Every element of an nginx list of headers.
pub(super) fn elements(list: &ngx_list_t) -> impl Iterator<Item = *mut ngx_table_elt_t> + '_ {
    let mut part: *const ngx_list_part_t = &list.part;
    let mut i = 0;
    std::iter::from_fn(move || loop {
        if part.is_null() {
            return None;
        }
        // SAFETY: a header list of a live request is a chain of parts, each
        // with `nelts` initialised table elements.
        unsafe {
            if i < (*part).nelts {
                i += 1;
                return Some(((*part).elts as *mut ngx_table_elt_t).add(i - 1));
            }
            part = (*part).next;
        }
        i = 0;
    })
}

fn key_is(h: &ngx_table_elt_t, name: &str) -> bool {
    bytes(&h.key).eq_ignore_ascii_case(name.as_bytes())
}

impl Request {
    /// The value of the first request header called `name`
    /// (case-insensitive).
    pub fn header_in(&self, name: &str) -> Option<&[u8]> {
        elements(&self.conf_source().headers_in.headers).find_map(|h| {
            // SAFETY: elements of a live request's header list.
            let h = unsafe { &*h };
            key_is(h, name).then(|| bytes(&h.value))
        })
    }

    /// The value of the first response header called `name` that will be
    /// sent (case-insensitive): what an origin said (`ETag`, `Vary`...).
    #[allow(dead_code)]
    pub fn header_out(&self, name: &str) -> Option<&[u8]> {
        elements(&self.conf_source().headers_out.headers).find_map(|h| {
            // SAFETY: elements of a live request's header list.
            let h = unsafe { &*h };
            (h.hash != 0 && key_is(h, name)).then(|| bytes(&h.value))
        })
    }

    /// Appends a response header; the value is copied into the request pool.
    pub fn add_header_out(self, name: &'static str, value: &[u8]) -> Result<(), HeaderError> {
        let value = self.pool_str(value).ok_or(HeaderError)?;
        self.push_header_out(name, value)
    }

    /// Appends a response header whose value is a static string (no copy).
    pub fn add_static_header_out(
        self,
        name: &'static str,
        value: &'static str,
    ) -> Result<(), HeaderError> {
        self.push_header_out(name, static_str(value))
    }

    /// Replaces every response header called `name` with one `name: value`.
    pub fn set_header_out(self, name: &'static str, value: &[u8]) -> Result<(), HeaderError> {
        self.remove_header_out(name);
        self.add_header_out(name, value)
    }

    /// Hides every response header called `name` (case-insensitive), e.g.
    /// an `Image-Error` a proxied origin sent; a header nginx tracks by
    /// pointer is forgotten there too.
    pub fn remove_header_out(self, name: &str) {
        if let Some(tracked) = Tracked::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
        {
            self.clear_tracked(tracked);
        }
        for h in elements(&self.conf_source().headers_out.headers) {
            // SAFETY: elements of a live request's header list; the header
            // has not been sent, so changing it is allowed.
            unsafe {
                if (*h).hash != 0 && key_is(&*h, name) {
                    (*h).hash = 0;
                }
            }
        }
    }

    /// Hides a header that nginx tracks by pointer, without searching the
    /// list (what the response path does on every image).
    pub fn clear_tracked(mut self, header: Tracked) {
        let h = &mut self.raw_mut().headers_out;
        match header {
            Tracked::ContentLength => hide(&mut h.content_length),
            Tracked::ETag => hide(&mut h.etag),
            Tracked::AcceptRanges => hide(&mut h.accept_ranges),
            Tracked::Expires => hide(&mut h.expires),
            Tracked::LastModified => {
                hide(&mut h.last_modified);
                h.last_modified_time = -1;
            }
            Tracked::CacheControl => {
                #[cfg(ngx_has_header_links)]
                hide(&mut h.cache_control);
                #[cfg(not(ngx_has_header_links))]
                {
                    // Before nginx 1.23: an array of pointers into the list.
                    let list = &mut h.cache_control;
                    let elts = list.elts as *mut *mut ngx_table_elt_t;
                    for i in 0..list.nelts {
                        // SAFETY: the array holds `nelts` pointers to live
                        // elements of headers_out.headers.
                        unsafe { (**elts.add(i)).hash = 0 };
                    }
                    list.nelts = 0;
                }
            }
        }
    }

    /// Sets the response's `Content-Type` (and drops a charset).
    pub fn set_content_type(mut self, mime: &'static str) {
        let h = &mut self.raw_mut().headers_out;
        h.content_type = static_str(mime);
        h.content_type_len = mime.len();
        h.content_type_lowcase = std::ptr::null_mut();
        h.charset = ngx_str_t::default();
    }

    /// Sets the response's `Content-Length` (an origin's header is hidden).
    pub fn set_content_length(mut self, length: usize) {
        self.raw_mut().headers_out.content_length_n = length as i64;
        self.clear_tracked(Tracked::ContentLength);
    }

    /// `name` and `value` must outlive the request (static strings or memory
    /// from the request pool).
    fn push_header_out(mut self, name: &'static str, value: ngx_str_t) -> Result<(), HeaderError> {
        // SAFETY: headers_out.headers is an initialised ngx_list_t of
        // ngx_table_elt_t; ngx_list_push returns uninitialised room for one.
        unsafe {
            let h = ngx_list_push(&mut self.raw_mut().headers_out.headers) as *mut ngx_table_elt_t;
            if h.is_null() {
                return Err(HeaderError);
            }
            (*h).hash = 1;
            (*h).key = static_str(name);
            (*h).value = value;
            (*h).lowcase_key = std::ptr::null_mut();
            #[cfg(ngx_has_header_links)]
            {
                (*h).next = std::ptr::null_mut();
            }
        }
        Ok(())
    }
}

/// Hides a header tracked by pointer: a zero hash makes the header filter
/// skip it, and the pointer is cleared.
fn hide(slot: &mut *mut ngx_table_elt_t) {
    let mut h = *slot;
    while !h.is_null() {
        // SAFETY: the pointer is null or points into headers_out.headers;
        // the elements of a header chain (`next`) are all in that list.
        unsafe {
            (*h).hash = 0;
            #[cfg(ngx_has_header_links)]
            {
                h = (*h).next;
            }
        }
        #[cfg(not(ngx_has_header_links))]
        {
            h = std::ptr::null_mut();
        }
    }
    *slot = std::ptr::null_mut();
}
