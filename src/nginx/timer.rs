//! One-shot timers on the worker's event loop, tied to a request: the
//! handler runs on the event loop when the time is up, unless the timer
//! was disarmed first. The request's pool disarms a timer still set when
//! the request is freed, so a timer never fires on a dead request.

use std::ffi::c_void;
use std::ptr::{addr_of_mut, NonNull};
use std::time::Duration;

use ngx::ffi::{
    ngx_add_timer, ngx_del_timer, ngx_event_t, ngx_msec_t, ngx_pcalloc, ngx_pool_cleanup_add,
};

use super::guard::guard;
use super::request::Request;

/// The event nginx's timer tree holds, and what to call when it fires.
/// `event` comes first: the event pointer nginx hands back is the
/// structure's.
#[repr(C)]
struct TimerData {
    event: ngx_event_t,
    fire: fn(Request),
}

/// An armed timer (see [`Timer::arm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer(NonNull<TimerData>);

impl Timer {
    /// Calls `fire` with `request` on the event loop after `after`, unless
    /// [`disarm`](Self::disarm)ed first. `None` when the request's pool has
    /// no memory left.
    pub fn arm(request: Request, after: Duration, fire: fn(Request)) -> Option<Timer> {
        let pool = request.pool().as_ptr();
        // SAFETY: the request and its pool are live; the structure is
        // zeroed by ngx_pcalloc (an idle event) and written before the
        // timer is set; the pool cleanup runs before the memory goes.
        unsafe {
            let data = ngx_pcalloc(pool, size_of::<TimerData>()) as *mut TimerData;
            let cln = ngx_pool_cleanup_add(pool, 0);
            if data.is_null() || cln.is_null() {
                return None;
            }
            addr_of_mut!((*data).fire).write(fire);
            let event = addr_of_mut!((*data).event);
            (*event).handler = Some(timer_fired);
            (*event).data = request.as_ptr() as *mut c_void;
            (*event).log = (*request.connection_ptr()).log;
            (*cln).handler = Some(disarm_on_cleanup);
            (*cln).data = data as *mut c_void;
            let ms = after.as_millis().min(ngx_msec_t::MAX as u128 / 2) as ngx_msec_t;
            ngx_add_timer(event, ms);
            Some(Timer(NonNull::new_unchecked(data)))
        }
    }

    /// Takes the timer off the event loop; harmless once it fired.
    pub fn disarm(self) {
        // SAFETY: the timer lives in the pool of a request still alive (its
        // owner disarms it before letting the request go).
        unsafe { disarm_event(addr_of_mut!((*self.0.as_ptr()).event)) }
    }
}

/// # Safety
/// `event` is the event of a live [`TimerData`].
unsafe fn disarm_event(event: *mut ngx_event_t) {
    if (*event).timer_set() != 0 {
        ngx_del_timer(event);
    }
}

/// The pool cleanup registered by [`Timer::arm`].
unsafe extern "C" fn disarm_on_cleanup(data: *mut c_void) {
    guard((), || {
        // SAFETY: `data` is the TimerData of this pool, not yet freed.
        unsafe { disarm_event(addr_of_mut!((*(data as *mut TimerData)).event)) }
    })
}

/// The event handler: the time is up.
unsafe extern "C" fn timer_fired(event: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: `event` is the first field of a TimerData armed by
        // `Timer::arm`, whose data is a request the pool cleanup proves
        // alive (a freed request's timer is never in the tree).
        let (request, fire) = unsafe {
            let data = event as *mut TimerData;
            (Request::from_raw((*event).data as *mut _), (*data).fire)
        };
        if let Some(request) = request {
            fire(request);
        }
    })
}
