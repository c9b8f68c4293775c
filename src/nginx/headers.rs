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
    ContentEncoding,
}

impl Tracked {
    const ALL: [Tracked; 7] = [
        Tracked::ContentLength,
        Tracked::ETag,
        Tracked::AcceptRanges,
        Tracked::Expires,
        Tracked::LastModified,
        Tracked::CacheControl,
        Tracked::ContentEncoding,
    ];

    fn name(self) -> &'static str {
        match self {
            Tracked::ContentLength => "Content-Length",
            Tracked::ETag => "ETag",
            Tracked::AcceptRanges => "Accept-Ranges",
            Tracked::Expires => "Expires",
            Tracked::LastModified => "Last-Modified",
            Tracked::CacheControl => "Cache-Control",
            Tracked::ContentEncoding => "Content-Encoding",
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

    /// Every value of the request header `name` (case-insensitive), lines
    /// joined with `, ` as HTTP allows for list headers.
    pub fn header_in_joined(&self, name: &str) -> Option<Vec<u8>> {
        let mut joined: Option<Vec<u8>> = None;
        for h in elements(&self.conf_source().headers_in.headers) {
            // SAFETY: elements of a live request's header list.
            let h = unsafe { &*h };
            if !key_is(h, name) {
                continue;
            }
            match joined.as_mut() {
                Some(all) => {
                    all.extend_from_slice(b", ");
                    all.extend_from_slice(bytes(&h.value));
                }
                None => joined = Some(bytes(&h.value).to_vec()),
            }
        }
        joined
    }

    /// Removes every request header whose name `drop` selects, so that no
    /// upstream module forwards it and no nginx filter evaluates it.
    ///
    /// nginx keeps pointers to the elements (`headers_in.host`...), so no
    /// element moves: the list's parts are cut around the removed ones.
    pub fn remove_headers_in(mut self, drop: impl Fn(&str) -> bool) -> Result<(), HeaderError> {
        let is_dropped = |h: *mut ngx_table_elt_t| {
            // SAFETY: `h` is an element of the live request's header list.
            let key = bytes(unsafe { &(*h).key });
            std::str::from_utf8(key).is_ok_and(&drop)
        };
        if !elements(&self.conf_source().headers_in.headers).any(is_dropped) {
            return Ok(());
        }
        let pool = self.pool();
        let headers_in = &mut self.raw_mut().headers_in;
        for slot in [
            &mut headers_in.if_modified_since,
            &mut headers_in.if_unmodified_since,
            &mut headers_in.if_match,
            &mut headers_in.if_none_match,
            &mut headers_in.range,
            &mut headers_in.if_range,
            &mut headers_in.accept_encoding,
        ] {
            if !slot.is_null() && is_dropped(*slot) {
                *slot = std::ptr::null_mut();
            }
        }
        let list = &mut headers_in.headers;
        // Runs of kept elements: (first element, count).
        let mut runs: Vec<(*mut ngx_table_elt_t, usize)> = Vec::new();
        let mut part: *const ngx_list_part_t = &list.part;
        // SAFETY: the parts of a live request's header list, each with
        // `nelts` initialised elements.
        unsafe {
            while !part.is_null() {
                let elts = (*part).elts as *mut ngx_table_elt_t;
                let mut start = 0;
                for i in 0..(*part).nelts {
                    if is_dropped(elts.add(i)) {
                        if i > start {
                            runs.push((elts.add(start), i - start));
                        }
                        start = i + 1;
                    }
                }
                if (*part).nelts > start {
                    runs.push((elts.add(start), (*part).nelts - start));
                }
                part = (*part).next;
            }
        }
        let part_size = size_of::<ngx_list_part_t>();
        let Some(&(_, last_count)) = runs.last() else {
            // Nothing is kept: one empty part with room, as a new list has.
            let elts = pool.calloc(list.size * list.nalloc);
            if elts.is_null() {
                return Err(HeaderError);
            }
            list.part = ngx_list_part_t {
                elts,
                nelts: 0,
                next: std::ptr::null_mut(),
            };
            list.last = &mut list.part;
            return Ok(());
        };
        // Built back to front: each part points at the next. nginx's loops
        // over a list only allow the first part to be empty, so every
        // other part is a non-empty run.
        let mut next: *mut ngx_list_part_t = std::ptr::null_mut();
        let mut last: *mut ngx_list_part_t = std::ptr::null_mut();
        for &(first, count) in runs.iter().rev() {
            let p = pool.calloc(part_size) as *mut ngx_list_part_t;
            if p.is_null() {
                return Err(HeaderError);
            }
            // SAFETY: `p` is a zeroed part from the request pool.
            unsafe {
                (*p).elts = first.cast();
                (*p).nelts = count;
                (*p).next = next;
            }
            if last.is_null() {
                last = p;
            }
            next = p;
        }
        // The embedded first part becomes an empty head of the chain.
        list.part.elts = std::ptr::null_mut();
        list.part.nelts = 0;
        list.part.next = next;
        list.last = last;
        // The last run may start inside its array, so it must count as
        // full: a later ngx_list_push then starts a new part of this many
        // elements instead of writing past the array.
        list.nalloc = last_count;
        Ok(())
    }

    /// The value of the first response header called `name` that will be
    /// sent (case-insensitive): what an origin said (`ETag`, `Vary`...).
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
            Tracked::ContentEncoding => hide(&mut h.content_encoding),
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

    /// A response without a body (`304`): no type, no length.
    pub fn clear_body_headers(mut self) {
        let h = &mut self.raw_mut().headers_out;
        h.content_type = ngx_str_t::default();
        h.content_type_len = 0;
        h.content_type_lowcase = std::ptr::null_mut();
        h.content_length_n = -1;
        self.clear_tracked(Tracked::ContentLength);
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
