# Makefile rules for nginx's build system (read after `config`): cargo builds
# the module's Rust code as a static library against this very nginx tree
# (NGINX_SOURCE_DIR / NGINX_BUILD_DIR), and the .so that nginx links depends
# on it. cargo tracks its own sources, so the rule runs on every `make` and
# returns at once when nothing changed. jpegli's archives are then copied
# where `config`'s ngx_module_libs looks for them.

cat << END                                                    >> $NGX_MAKEFILE

.NGX_IMAGE_MODULE_ALWAYS:

$ngx_image_staticlib: .NGX_IMAGE_MODULE_ALWAYS
	NGINX_SOURCE_DIR="$PWD" NGINX_BUILD_DIR="$ngx_image_objs" \\
	${NGX_CARGO:-cargo} rustc --release --locked --lib \\
		--manifest-path "$ngx_addon_dir/Cargo.toml" \\
		--target-dir "$ngx_image_target_dir" \\
		--no-default-features --features nginx-build-system \\
		--crate-type staticlib
	mkdir -p "$ngx_image_native"
	for lib in build/lib/libjpegli-static.a build/third_party/highway/libhwy.a; do \\
		cp -p "\$\$(ls -td "$ngx_image_target_dir"/release/build/jpegli-sys-*/out | head -1)/\$\$lib" \\
			"$ngx_image_native/"; \\
	done

$NGX_OBJS${ngx_dirsep}ngx_http_image_module$ngx_modext: $ngx_image_staticlib

END
