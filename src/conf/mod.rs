//! The module's configuration: what each location says, how levels
//! inherit, and the defaults. The directive table and its parsers live in
//! `directives.rs`.

mod directives;

use std::ffi::{c_char, c_void};

use image_engine::compat::image_filter;
use image_engine::endpoint::{EndpointRules, HostsAllowed};
use image_engine::http::{Negotiation, SuccessPolicy};
use image_engine::{FormatQualities, Limits, Policy};
use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{ngx_conf_t, ngx_module_t, ngx_msec_t};
use ngx::http::{HttpModule, HttpModuleLocationConf, HttpModuleMainConf};

pub use directives::COMMANDS;

use crate::nginx::{guard, ComplexValue, Config, FailureZone, Request, ThreadPool};

/// The module as the `ngx` crate's configuration accessors know it.
pub struct ImageModule;

impl HttpModule for ImageModule {
    fn module() -> &'static ngx_module_t {
        // SAFETY: the module table is a static that nginx only writes while
        // loading the module (ctx_index, index), before any request.
        unsafe { &*std::ptr::addr_of!(crate::ngx_http_image_module) }
    }
}

// SAFETY: create_loc_conf allocates a LocConf for every level.
unsafe impl HttpModuleLocationConf for ImageModule {
    type LocationConf = LocConf;
}

// SAFETY: create_main_conf allocates a MainConf for the http block.
unsafe impl HttpModuleMainConf for ImageModule {
    type MainConf = MainConf;
}

/// nginx's "not set" markers (NGX_CONF_UNSET_SIZE, _UNSET, _UNSET_MSEC).
const UNSET_SIZE: usize = usize::MAX;
const UNSET_NUM: isize = -1;
const UNSET_MSEC: ngx_msec_t = ngx_msec_t::MAX;

/// `image_buffer` default: Cloudflare's 100 MB limit on originals.
const DEFAULT_BUFFER_SIZE: usize = 100 * 1024 * 1024;
/// `image_timeout` default: Imagizer's backend timeout.
const DEFAULT_TIMEOUT_MS: ngx_msec_t = 10_000;
/// `image_max_queue` default.
const DEFAULT_MAX_QUEUE: isize = 64;
/// `image_memory` default, per worker (and thread pool): room for the
/// largest job the default limits let through in 8-bit colour (a 100
/// megapixel RGBA PNG made into a 3400 px square is predicted at 558 MB)
/// next to everyday ones (`tests/memory_budget.rs`, README).
const DEFAULT_MEMORY: usize = 1024 * 1024 * 1024;
/// `image_error_ttl` defaults: one minute, doubling up to a day.
const DEFAULT_TTL_MIN: u32 = 60;
const DEFAULT_TTL_MAX: u32 = 86_400;

/// `image_transform`.
#[derive(Debug, Clone, Default)]
pub enum TransformConf {
    #[default]
    Unset,
    Off,
    /// The option template, parsed and validated once.
    Options(std::rc::Rc<OptionTemplate>),
}

/// `image_transform`'s argument compiled at configuration time: the literal
/// options validated by the engine, and one complex value per variable
/// part, evaluated per request in the order of `template.slots()`.
#[derive(Debug)]
pub struct OptionTemplate {
    pub template: image_engine::options::Template,
    pub values: Vec<ComplexValue>,
}

/// `image_thread_pool`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum ThreadPoolConf {
    #[default]
    Unset,
    /// Work runs inline on the event loop (for debugging only).
    Off,
    Pool(ThreadPool),
}

/// `image_fallback FILE [STATUS]`: a placeholder image read once at
/// configuration time.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    pub image: std::sync::Arc<Vec<u8>>,
    pub format: image_engine::ImageFormat,
    /// 0: keep the error's status.
    pub status: u16,
}

#[derive(Debug)]
pub struct LocConf {
    pub transform: TransformConf,
    /// The fields below marked "slot" are filled by nginx's own parsers
    /// through `offset_of!`, so they keep nginx's types and unset markers.
    pub buffer_size: usize, // slot
    pub thread_pool: ThreadPoolConf,
    pub max_pixels: isize,             // slot
    pub max_side: isize,               // slot
    pub max_animation_pixels: isize,   // slot
    pub max_output_pixels: isize,      // slot
    pub max_avif_output_pixels: isize, // slot
    pub timeout: ngx_msec_t,           // slot
    pub max_concurrency: isize,        // slot
    pub max_queue: isize,              // slot
    /// `image_memory`, bytes (0: no budget).
    pub memory: usize, // slot
    /// `image_params_allowed` / `image_formats_allowed` (`None`: unset).
    pub policy: Policy,
    /// (min, max) seconds; `None` while unset.
    pub error_ttl: Option<(u32, u32)>,
    pub error_key: Option<ComplexValue>,
    /// `Some(None)` is an explicit `image_fallback off`.
    pub fallback: Option<Option<Fallback>>,
    /// `image_auto_formats`: candidates of `format=auto`, in order.
    pub auto_formats: Option<Negotiation>,
    /// `image_cache_control`: Cache-Control of transformed output.
    pub cache_control: Option<SuccessPolicy>,
    /// `image_endpoint`: the location's prefix (`/cdn-cgi/image/`); set
    /// only in the location that has the directive (not inherited).
    pub endpoint: Option<String>,
    /// `image_endpoint_hosts_allowed` (`None`: unset; empty: none).
    pub endpoint_hosts: Option<HostsAllowed>,
    pub endpoint_max_redirects: isize,     // slot
    pub endpoint_private_addresses: isize, // slot (flag)
    pub endpoint_pass_credentials: isize,  // slot (flag)
    /// `image_endpoint_upstream`: the internal location that fetches
    /// absolute URLs.
    pub endpoint_upstream: Option<String>,
    /// The endpoint settings above, merged.
    pub endpoint_rules: EndpointRules,
    /// `image_jpeg_quality`, `image_webp_quality`, `image_avif_quality`
    /// (`None`: unset, the engine's default).
    pub format_qualities: FormatQualities,
    /// `image_server_timing`.
    pub server_timing: isize, // slot (flag)
    /// `image_filter` lines and `image_filter_*_quality`,
    /// `image_filter_sharpen` (nginx's image_filter directives).
    pub image_filter: image_filter::Directives<ComplexValue>,
    pub image_filter_buffer: usize,       // slot
    pub image_filter_transparency: isize, // slot (flag)
    pub image_filter_interlace: isize,    // slot (flag)
}

impl Default for LocConf {
    fn default() -> Self {
        LocConf {
            transform: TransformConf::Unset,
            buffer_size: UNSET_SIZE,
            thread_pool: ThreadPoolConf::Unset,
            max_pixels: UNSET_NUM,
            max_side: UNSET_NUM,
            max_animation_pixels: UNSET_NUM,
            max_output_pixels: UNSET_NUM,
            max_avif_output_pixels: UNSET_NUM,
            timeout: UNSET_MSEC,
            max_concurrency: UNSET_NUM,
            max_queue: UNSET_NUM,
            memory: UNSET_SIZE,
            policy: Policy::default(),
            error_ttl: None,
            error_key: None,
            fallback: None,
            auto_formats: None,
            cache_control: None,
            endpoint: None,
            endpoint_hosts: None,
            endpoint_max_redirects: UNSET_NUM,
            endpoint_private_addresses: UNSET_NUM,
            endpoint_pass_credentials: UNSET_NUM,
            endpoint_upstream: None,
            endpoint_rules: EndpointRules::default(),
            format_qualities: FormatQualities::default(),
            server_timing: UNSET_NUM,
            image_filter: image_filter::Directives::default(),
            image_filter_buffer: UNSET_SIZE,
            image_filter_transparency: UNSET_NUM,
            image_filter_interlace: UNSET_NUM,
        }
    }
}

/// `http`-level configuration.
#[derive(Debug, Default)]
pub struct MainConf {
    /// `image_error_zone`: where repeated failures are counted.
    pub error_zone: Option<FailureZone>,
}

impl MainConf {
    /// The http-level configuration the request runs under.
    pub fn of(request: Request) -> &'static MainConf {
        ImageModule::main_conf(request.conf_source())
            .expect("every http request has the module's main configuration")
    }
}

impl LocConf {
    /// The configuration of the location the request runs in.
    pub fn of(request: Request) -> &'static LocConf {
        ImageModule::location_conf(request.conf_source())
            .expect("every location has the module's configuration")
    }

    /// The option template of this location, if it transforms.
    pub fn options(&self) -> Option<&OptionTemplate> {
        match &self.transform {
            TransformConf::Options(template) => Some(template),
            _ => None,
        }
    }

    /// The candidates of `format=auto` (default: AVIF, then WebP).
    pub fn negotiation(&self) -> &Negotiation {
        static DEFAULT: std::sync::OnceLock<Negotiation> = std::sync::OnceLock::new();
        self.auto_formats
            .as_ref()
            .unwrap_or_else(|| DEFAULT.get_or_init(Negotiation::default))
    }

    /// The Cache-Control policy of transformed output (default: keep the
    /// origin's).
    pub fn success_policy(&self) -> SuccessPolicy {
        self.cache_control.clone().unwrap_or_default()
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_pixels: self.max_pixels as u64,
            max_side: self.max_side as u32,
            max_animation_pixels: self.max_animation_pixels as u64,
            max_output_pixels: self.max_output_pixels as u64,
            max_avif_output_pixels: self.max_avif_output_pixels as u64,
        }
    }

    /// `image_memory` in bytes; `0` turns the budget off.
    pub fn memory_budget(&self) -> u64 {
        match self.memory {
            0 => u64::MAX,
            bytes => bytes as u64,
        }
    }

    /// `image_max_concurrency`, or by default: every thread of a pool of
    /// the module's own, half the threads of nginx's `default` pool, whose
    /// other half stays free for `aio threads` (static files) and other
    /// modules.
    pub fn concurrency(&self, pool: ThreadPool) -> usize {
        match self.max_concurrency {
            n if n > 0 => n as usize,
            _ if pool.is_default() => (pool.threads() / 2).max(1),
            _ => pool.threads(),
        }
    }

    pub fn ttl(&self) -> (u32, u32) {
        self.error_ttl.unwrap_or((DEFAULT_TTL_MIN, DEFAULT_TTL_MAX))
    }

    pub fn fallback(&self) -> Option<&Fallback> {
        self.fallback.as_ref().and_then(Option::as_ref)
    }

    /// Inherits what this level leaves unset and fills in the defaults.
    /// A location that transforms gets the `default` thread pool unless told
    /// otherwise; registering it here (not for every location) keeps nginx
    /// from starting pool threads that nothing uses.
    fn merge(&mut self, prev: &LocConf, config: &Config) -> Result<(), ()> {
        let defaults = Limits::default();
        if matches!(self.transform, TransformConf::Unset) {
            self.transform = prev.transform.clone();
        }
        merge(
            &mut self.buffer_size,
            prev.buffer_size,
            UNSET_SIZE,
            DEFAULT_BUFFER_SIZE,
        );
        merge(
            &mut self.max_pixels,
            prev.max_pixels,
            UNSET_NUM,
            defaults.max_pixels as isize,
        );
        merge(
            &mut self.max_side,
            prev.max_side,
            UNSET_NUM,
            defaults.max_side as isize,
        );
        merge(
            &mut self.max_animation_pixels,
            prev.max_animation_pixels,
            UNSET_NUM,
            defaults.max_animation_pixels as isize,
        );
        merge(
            &mut self.max_output_pixels,
            prev.max_output_pixels,
            UNSET_NUM,
            defaults.max_output_pixels as isize,
        );
        merge(
            &mut self.max_avif_output_pixels,
            prev.max_avif_output_pixels,
            UNSET_NUM,
            defaults.max_avif_output_pixels as isize,
        );
        merge(
            &mut self.timeout,
            prev.timeout,
            UNSET_MSEC,
            DEFAULT_TIMEOUT_MS,
        );
        // 0 means "as many as the pool has threads", known only at run time.
        merge(
            &mut self.max_concurrency,
            prev.max_concurrency,
            UNSET_NUM,
            0,
        );
        merge(
            &mut self.max_queue,
            prev.max_queue,
            UNSET_NUM,
            DEFAULT_MAX_QUEUE,
        );
        merge(&mut self.memory, prev.memory, UNSET_SIZE, DEFAULT_MEMORY);
        if self.policy.params.is_none() {
            self.policy.params = prev.policy.params.clone();
        }
        if self.policy.formats.is_none() {
            self.policy.formats = prev.policy.formats.clone();
        }
        if self.error_ttl.is_none() {
            self.error_ttl = prev.error_ttl;
        }
        if self.error_key.is_none() {
            self.error_key = prev.error_key;
        }
        if self.fallback.is_none() {
            self.fallback = prev.fallback.clone();
        }
        if self.auto_formats.is_none() {
            self.auto_formats = prev.auto_formats.clone();
        }
        if self.cache_control.is_none() {
            self.cache_control = prev.cache_control.clone();
        }
        if self.thread_pool == ThreadPoolConf::Unset {
            self.thread_pool = prev.thread_pool;
        }
        self.merge_endpoint(prev);
        self.merge_format_qualities(prev);
        merge(&mut self.server_timing, prev.server_timing, UNSET_NUM, 0);
        self.merge_image_filter(prev);
        let transforms = self.options().is_some()
            || self.endpoint.is_some()
            || self.image_filter.mode() != image_filter::Filter::Off;
        if self.thread_pool == ThreadPoolConf::Unset && transforms {
            let pool = ThreadPool::add(config, None).ok_or(())?;
            self.thread_pool = ThreadPoolConf::Pool(pool);
        }
        Ok(())
    }
}

impl LocConf {
    /// The `image_endpoint_*` settings, inherited and defaulted, in one
    /// [`EndpointRules`] value.
    fn merge_endpoint(&mut self, prev: &LocConf) {
        let defaults = EndpointRules::default();
        merge(
            &mut self.endpoint_max_redirects,
            prev.endpoint_max_redirects,
            UNSET_NUM,
            defaults.max_redirects as isize,
        );
        merge(
            &mut self.endpoint_private_addresses,
            prev.endpoint_private_addresses,
            UNSET_NUM,
            0,
        );
        merge(
            &mut self.endpoint_pass_credentials,
            prev.endpoint_pass_credentials,
            UNSET_NUM,
            0,
        );
        if self.endpoint_hosts.is_none() {
            self.endpoint_hosts = prev.endpoint_hosts.clone();
        }
        if self.endpoint_upstream.is_none() {
            self.endpoint_upstream = prev.endpoint_upstream.clone();
        }
        self.endpoint_rules = EndpointRules {
            hosts: self.endpoint_hosts.clone().unwrap_or_default(),
            max_redirects: self.endpoint_max_redirects.clamp(0, u32::MAX as isize) as u32,
            private_addresses: self.endpoint_private_addresses == 1,
            pass_credentials: self.endpoint_pass_credentials == 1,
        };
    }
}

impl LocConf {
    fn merge_format_qualities(&mut self, prev: &LocConf) {
        let (this, parent) = (&mut self.format_qualities, prev.format_qualities);
        this.jpeg = this.jpeg.or(parent.jpeg);
        this.webp = this.webp.or(parent.webp);
        this.avif = this.avif.or(parent.avif);
    }
}

impl LocConf {
    /// nginx's image_filter merge; the slots nginx's own parsers fill are
    /// carried into the engine's [`image_filter::Directives`].
    fn merge_image_filter(&mut self, prev: &LocConf) {
        self.image_filter.merge(&prev.image_filter);
        merge(
            &mut self.image_filter_buffer,
            prev.image_filter_buffer,
            UNSET_SIZE,
            image_filter::DEFAULT_BUFFER,
        );
        let flags = [
            (
                &mut self.image_filter_transparency,
                prev.image_filter_transparency,
                1,
            ),
            (
                &mut self.image_filter_interlace,
                prev.image_filter_interlace,
                0,
            ),
        ];
        for (value, prev, default) in flags {
            merge(value, prev, UNSET_NUM, default);
        }
        self.image_filter.buffer = Some(self.image_filter_buffer);
        self.image_filter.transparency = Some(self.image_filter_transparency == 1);
        self.image_filter.interlace = Some(self.image_filter_interlace == 1);
    }
}

/// `ngx_conf_merge_*_value`: this level's value, else the parent's, else
/// the default.
fn merge<T: Copy + PartialEq>(value: &mut T, prev: T, unset: T, default: T) {
    if *value == unset {
        *value = if prev == unset { default } else { prev };
    }
}

/// `merge_loc_conf` hook.
pub unsafe extern "C" fn merge_loc_conf(
    cf: *mut ngx_conf_t,
    prev: *mut c_void,
    conf: *mut c_void,
) -> *mut c_char {
    guard(NGX_CONF_ERROR, || {
        // SAFETY: nginx passes the configuration being merged and the two
        // LocConf values created by create_loc_conf for the parent and this
        // level.
        let (config, prev, conf) = unsafe {
            (
                Config::from_raw(cf),
                &*(prev as *const LocConf),
                &mut *(conf as *mut LocConf),
            )
        };
        let Some(config) = config else {
            return NGX_CONF_ERROR;
        };
        match conf.merge(prev, &config) {
            Ok(()) => NGX_CONF_OK,
            Err(()) => NGX_CONF_ERROR,
        }
    })
}
