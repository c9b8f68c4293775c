//! Looking a host name up with nginx's own resolver (the `resolver`
//! directive of the request's location), without blocking the event loop.

use std::ffi::c_void;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ngx::core::Status;
use ngx::ffi::{
    ngx_http_cleanup_add, ngx_http_request_t, ngx_http_run_posted_requests, ngx_resolve_name,
    ngx_resolve_name_done, ngx_resolve_start, ngx_resolver_ctx_t, sockaddr, sockaddr_in,
    sockaddr_in6, AF_INET, AF_INET6,
};
use ngx::http::{HttpModuleLocationConf, NgxHttpCoreModule};

use super::guard::guard;
use super::request::Request;

/// What a lookup gives: the addresses, or nginx's resolver state (a DNS
/// response code, or `NGX_ETIMEDOUT`).
pub type Lookup = Result<Vec<IpAddr>, i64>;

/// Called on the event loop when the lookup is over.
pub type Resolved = fn(Request, Lookup);

/// No `resolver` is configured where the request runs, or nginx could not
/// start the lookup.
#[derive(Debug)]
pub struct NoResolver;

/// One lookup in flight, in the request pool.
struct Pending {
    request: *mut ngx_http_request_t,
    ctx: *mut ngx_resolver_ctx_t,
    done: Resolved,
    /// The lookup ended (answer or cancellation): nothing may touch `ctx`.
    finished: bool,
}

/// `NGX_NO_RESOLVER`: `ngx_resolve_start` found no resolver to use.
const NO_RESOLVER: *mut ngx_resolver_ctx_t = usize::MAX as *mut ngx_resolver_ctx_t;

impl Request {
    /// Starts looking `name` up; `done` runs when the answer (or the
    /// resolver's timeout) comes — possibly before this returns, when the
    /// answer is cached. If the request goes away first, the lookup is
    /// cancelled and `done` never runs.
    pub fn resolve(self, name: &str, done: Resolved) -> Result<(), NoResolver> {
        let clcf = NgxHttpCoreModule::location_conf(self.conf_source()).ok_or(NoResolver)?;
        let resolver = clcf.resolver;
        // SAFETY: a non-null resolver of a live location lives as long as
        // the configuration; `connections` lists the configured servers.
        if resolver.is_null() || unsafe { (*resolver).connections.nelts } == 0 {
            return Err(NoResolver);
        }
        let name = self.pool_str(name.as_bytes()).ok_or(NoResolver)?;
        let pending = self.pool().allocate(Pending {
            request: self.as_ptr(),
            ctx: std::ptr::null_mut(),
            done,
            finished: false,
        });
        if pending.is_null() {
            return Err(NoResolver);
        }
        // SAFETY: the request is live; a cleanup slot comes from its pool.
        let cln = unsafe { ngx_http_cleanup_add(self.as_ptr(), 0) };
        if cln.is_null() {
            return Err(NoResolver);
        }
        // SAFETY: the resolver is live; nginx returns a context, null, or
        // NGX_NO_RESOLVER.
        let ctx = unsafe { ngx_resolve_start(resolver, std::ptr::null_mut()) };
        if ctx.is_null() || ctx == NO_RESOLVER {
            return Err(NoResolver);
        }
        // SAFETY: `pending`, `cln` and `ctx` were just allocated for this
        // lookup; nginx calls `on_resolved` with `ctx` once, and the
        // request's cleanup runs `cancel` if the request ends first.
        unsafe {
            (*pending).ctx = ctx;
            (*cln).handler = Some(cancel);
            (*cln).data = pending as *mut c_void;
            (*ctx).name = name;
            (*ctx).handler = Some(on_resolved);
            (*ctx).data = pending as *mut c_void;
            (*ctx).timeout = clcf.resolver_timeout;
            if ngx_resolve_name(ctx) != Status::NGX_OK.0 {
                // nginx freed the context itself.
                (*pending).finished = true;
                return Err(NoResolver);
            }
        }
        Ok(())
    }
}

/// The resolver's answer, on the event loop.
unsafe extern "C" fn on_resolved(ctx: *mut ngx_resolver_ctx_t) {
    guard((), || {
        // SAFETY: `data` is the Pending this lookup was started with, in
        // the pool of a request that is still live: its cleanup cancels the
        // lookup otherwise.
        let pending = unsafe { &mut *((*ctx).data as *mut Pending) };
        // SAFETY: nginx hands over a finished context: state and addresses
        // are filled in until ngx_resolve_name_done.
        let lookup = unsafe {
            if (*ctx).state != 0 {
                Err((*ctx).state as i64)
            } else {
                Ok((0..(*ctx).naddrs)
                    .filter_map(|i| address((*(*ctx).addrs.add(i)).sockaddr))
                    .collect())
            }
        };
        pending.finished = true;
        // SAFETY: the context is done with; nginx frees it.
        unsafe { ngx_resolve_name_done(ctx) };
        // SAFETY: the request is live (see above).
        let Some(request) = (unsafe { Request::from_raw(pending.request) }) else {
            return;
        };
        // SAFETY: the connection outlives the request; read before `done`,
        // which may end the request.
        let c = unsafe { (*pending.request).connection };
        (pending.done)(request, lookup);
        // Run what `done` started (a subrequest) or finished.
        // SAFETY: the connection is live until its posted requests ran.
        unsafe { ngx_http_run_posted_requests(c) };
    })
}

/// Request cleanup: the request ended while the lookup ran.
unsafe extern "C" fn cancel(data: *mut c_void) {
    guard((), || {
        // SAFETY: `data` is the Pending registered with this cleanup.
        let pending = unsafe { &mut *(data as *mut Pending) };
        if !pending.finished {
            pending.finished = true;
            // SAFETY: the lookup is still in flight: cancelling it is what
            // nginx's upstream module does in the same situation.
            unsafe { ngx_resolve_name_done(pending.ctx) };
        }
    })
}

/// An address nginx's resolver returned.
fn address(sa: *mut sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the resolver fills in sockaddr_in or sockaddr_in6 according
    // to the family.
    unsafe {
        match (*sa).sa_family as u32 {
            AF_INET => {
                let sin = &*(sa as *const sockaddr_in);
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))))
            }
            AF_INET6 => {
                let sin6 = &*(sa as *const sockaddr_in6);
                Some(IpAddr::V6(Ipv6Addr::from(
                    sin6.sin6_addr.__in6_u.__u6_addr8,
                )))
            }
            _ => None,
        }
    }
}
