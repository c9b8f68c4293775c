//! nginx thread pools: where a job runs off the event loop, and how its
//! completion comes back to the event loop. Nothing here knows what the job
//! is or which phase posted it.

use std::ffi::c_void;
use std::ptr::NonNull;

use ngx::ffi::{
    ngx_event_t, ngx_log_t, ngx_str_t, ngx_thread_pool_add, ngx_thread_pool_t,
    ngx_thread_task_alloc, ngx_thread_task_post, ngx_thread_task_t,
};
use ngx::ngx_container_of;

use super::config::Config;
use super::guard::guard;
use super::request::Request;

/// A thread pool registered at configuration (`thread_pool` directive, or
/// nginx's implicit `default`). nginx keeps it for the life of the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadPool(NonNull<ngx_thread_pool_t>);

/// What a task's context area holds while its job is out.
struct TaskData<T> {
    job: *mut T,
    pool: ThreadPool,
    run: fn(&mut T),
    done: fn(Request, ThreadPool, T),
}

impl ThreadPool {
    /// Finds or registers the pool `name` (`None`: `default`); nginx itself
    /// reports a pool no `thread_pool` directive defines once the whole
    /// configuration has been read.
    pub fn add(config: &Config, name: Option<&mut ngx_str_t>) -> Option<ThreadPool> {
        let name = name.map_or(std::ptr::null_mut(), |n| n as *mut ngx_str_t);
        // SAFETY: the configuration is live; a null name means nginx's
        // implicit "default" pool.
        NonNull::new(unsafe { ngx_thread_pool_add(config.as_ptr(), name) }).map(ThreadPool)
    }

    /// Identifies the pool in per-pool tables.
    pub fn key(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The number of threads of the pool.
    ///
    /// `ngx_thread_pool_t` is opaque in nginx's headers; its layout
    /// (unchanged since nginx 1.7.11) is mirrored here to read `threads`. A
    /// value outside any sane range falls back to nginx's default size.
    pub fn threads(self) -> usize {
        // SAFETY: the layout mirrors struct ngx_thread_pool_s; `threads` is
        // written once at configuration and only read afterwards.
        let threads = unsafe { (*(self.0.as_ptr() as *const ThreadPoolLayout)).threads };
        if (1..=4096).contains(&threads) {
            threads
        } else {
            32
        }
    }

    /// The pool's name (`default` for nginx's implicit pool), for the
    /// metrics of `image_status`.
    pub fn name(self) -> String {
        // SAFETY: the layout mirrors struct ngx_thread_pool_s; the name is
        // set when the pool is registered and points into configuration
        // memory that lives as long as the pool.
        let name = unsafe { &(*(self.0.as_ptr() as *const ThreadPoolLayout)).name };
        if name.data.is_null() {
            return "default".into();
        }
        String::from_utf8_lossy(super::guard::bytes(name)).into_owned()
    }

    /// Whether this is nginx's implicit `default` pool, which `aio threads`
    /// without a pool name uses too.
    pub fn is_default(self) -> bool {
        self.name() == "default"
    }

    /// Posts `job`: `run` is called with it on a pool thread (it must not
    /// touch nginx), then `done` on the event loop with the request, this
    /// pool and the job back. Gives the job back if the pool refuses (its
    /// queue is full). The caller keeps the request alive meanwhile
    /// ([`Request::block`]).
    pub fn post<T: Send + 'static>(
        self,
        request: Request,
        job: Box<T>,
        run: fn(&mut T),
        done: fn(Request, ThreadPool, T),
    ) -> Result<(), Box<T>> {
        // SAFETY: the task is allocated from the request pool, which nginx
        // keeps while the request is blocked; its context area is sized for
        // a TaskData<T>, written before the task is posted.
        unsafe {
            let task = ngx_thread_task_alloc(request.pool().as_ptr(), size_of::<TaskData<T>>());
            if task.is_null() {
                return Err(job);
            }
            let job = Box::into_raw(job);
            ((*task).ctx as *mut TaskData<T>).write(TaskData {
                job,
                pool: self,
                run,
                done,
            });
            (*task).handler = Some(run_task::<T>);
            (*task).event.data = request.as_ptr() as *mut c_void;
            (*task).event.handler = Some(task_done::<T>);
            if ngx_thread_task_post(self.0.as_ptr(), task) != ngx::core::Status::NGX_OK.0 {
                return Err(Box::from_raw(job));
            }
        }
        Ok(())
    }
}

#[repr(C)]
struct ThreadPoolLayout {
    mtx: ngx::ffi::ngx_thread_mutex_t,
    queue_first: *mut c_void,
    queue_last: *mut c_void,
    waiting: isize,
    cond: ngx::ffi::ngx_thread_cond_t,
    log: *mut c_void,
    name: ngx_str_t,
    threads: usize,
    max_queue: isize,
}

/// Runs on a pool thread. Touches only the job.
unsafe extern "C" fn run_task<T>(data: *mut c_void, _log: *mut ngx_log_t) {
    guard((), || {
        // SAFETY: `data` is the task context written in `post`; only this
        // thread uses the job until `task_done` runs.
        let (job, run) = unsafe {
            let data = &*(data as *const TaskData<T>);
            (&mut *data.job, data.run)
        };
        run(job);
    })
}

/// Runs on the event loop once the job is back.
unsafe extern "C" fn task_done<T>(ev: *mut ngx_event_t) {
    guard((), || {
        // SAFETY: the event is the `event` field of a task posted by `post`,
        // whose data is the request that `blocked` kept alive.
        let (request, pool, job, done) = unsafe {
            let task = ngx_container_of!(ev, ngx_thread_task_t, event);
            let data = &*((*task).ctx as *const TaskData<T>);
            let request = Request::from_raw((*ev).data as *mut _);
            (request, data.pool, *Box::from_raw(data.job), data.done)
        };
        if let Some(request) = request {
            done(request, pool, job);
        }
    })
}
