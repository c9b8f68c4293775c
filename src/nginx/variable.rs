//! nginx variables whose value a safe getter computes for a request.

use ngx::core::Status;
use ngx::ffi::{
    ngx_http_add_variable, ngx_http_request_t, ngx_http_variable_value_t, ngx_int_t, ngx_str_t,
    ngx_uint_t, NGX_HTTP_VAR_NOCACHEABLE,
};

use super::config::Config;
use super::guard::guard;
use super::request::Request;

/// Computes a variable's value (`None`: not found).
pub type Getter = fn(Request) -> Option<String>;

impl Config {
    /// Registers `$name`, computed by `get` each time it is read.
    pub fn add_variable(&self, name: &'static str, get: Getter) -> Result<(), ()> {
        let mut name = ngx_str_t {
            len: name.len(),
            data: name.as_ptr() as *mut u8,
        };
        // SAFETY: the configuration is live; nginx copies the name and
        // returns a variable slot we fill in (or null).
        unsafe {
            let v = ngx_http_add_variable(
                self.as_ptr(),
                &mut name,
                NGX_HTTP_VAR_NOCACHEABLE as ngx_uint_t,
            );
            if v.is_null() {
                return Err(());
            }
            (*v).get_handler = Some(get_variable);
            (*v).data = get as usize;
        }
        Ok(())
    }
}

/// The one get handler of every variable; `data` holds its [`Getter`].
unsafe extern "C" fn get_variable(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    guard(Status::NGX_ERROR.0, || {
        // SAFETY: nginx calls get handlers with a live request; `data` was
        // written by `add_variable` from a `Getter`.
        let (request, get) = unsafe {
            let get: Getter = std::mem::transmute::<usize, Getter>(data);
            (Request::from_raw(r), get)
        };
        let Some(request) = request else {
            return Status::NGX_ERROR.0;
        };
        let value = match get(request) {
            None => None,
            Some(text) => match request.pool_str(text.as_bytes()) {
                Some(s) => Some(s),
                None => return Status::NGX_ERROR.0,
            },
        };
        // SAFETY: `v` is nginx's value slot for this call; the value's
        // memory is in the request pool.
        unsafe {
            match value {
                None => (*v).set_not_found(1),
                Some(s) => {
                    (*v).set_len(s.len as u32);
                    (*v).data = s.data;
                    (*v).set_valid(1);
                    (*v).set_no_cacheable(0);
                    (*v).set_not_found(0);
                }
            }
        }
        Status::NGX_OK.0
    })
}
