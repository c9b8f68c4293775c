//! Template tests: what is decided at configuration time, what a request
//! can and cannot change.
use super::*;
use crate::ImageFormat;

fn compile(text: &str) -> Template {
    match Template::compile(text) {
        Ok(template) => template,
        Err(err) => panic!("{text:?} was refused: {}", err.message),
    }
}

fn config_error(text: &str) -> String {
    match Template::compile(text) {
        Ok(template) => panic!("{text:?} was accepted: {template:?}"),
        Err(err) => {
            assert_eq!(err.kind, ErrorKind::InvalidOption, "{text:?}");
            err.message
        }
    }
}

fn request_error(template: &Template, values: &[&str]) -> Error {
    match template.bind(values) {
        Ok(bound) => panic!("{values:?} was accepted: {bound:?}"),
        Err(err) => err,
    }
}

fn sources(template: &Template) -> Vec<(Option<&str>, &str)> {
    template
        .slots()
        .iter()
        .map(|s| (s.option, s.source.as_str()))
        .collect()
}

#[test]
fn a_literal_template_is_validated_once_and_binds_without_values() {
    let template = compile("width=300,fit=cover,format=webp");
    assert!(template.slots().is_empty());
    let bound = template.bind::<&str>(&[]).unwrap();
    assert_eq!(
        bound.transform,
        crate::parse("width=300,fit=cover,format=webp").unwrap()
    );
    assert_eq!(bound.options, "width=300,fit=cover,format=webp");
    assert_eq!(bound.from_request, "");
}

#[test]
fn literal_errors_name_the_option_at_configuration_time() {
    let message = config_error("width=abc");
    assert!(message.contains("\"width\""), "{message}");
    assert!(message.contains("\"abc\""), "{message}");
    let message = config_error("fit=cover,q=101");
    assert!(message.contains("\"q\""), "{message}");
    assert!(config_error("colour=red").contains("unknown option \"colour\""));
    assert!(config_error("=5").contains("has no name"));
    assert!(config_error("width").contains("has no value"));
}

#[test]
fn a_key_given_twice_is_a_configuration_error_even_through_an_alias_or_slot() {
    for text in [
        "width=100,width=200",
        "w=100,width=200",
        "width=100,w=$arg_w",
        "width=$arg_a,width=$arg_b",
        "WIDTH=1,width=2",
    ] {
        let message = config_error(text);
        assert!(
            message.contains("\"width\" is given twice"),
            "{text}: {message}"
        );
    }
}

#[test]
fn empty_literal_values_are_refused_but_empty_items_are_not() {
    assert!(config_error("width=").contains("\"width\" has an empty value"));
    assert!(config_error("width= ,fit=cover").contains("empty value"));
    let template = compile(" , width=5,, ,");
    assert_eq!(template.bind::<&str>(&[]).unwrap().transform.width, Some(5));
    assert_eq!(
        compile("").bind::<&str>(&[]).unwrap().transform,
        Transform::default()
    );
}

#[test]
fn variables_become_value_slots_in_order() {
    let template = compile("width=$arg_w, h = ${arg_h} ,fit=cover,q=${arg_q}0,$extra");
    assert_eq!(
        sources(&template),
        [
            (Some("width"), "$arg_w"),
            (Some("height"), "${arg_h}"),
            (Some("quality"), "${arg_q}0"),
            (None, "$extra"),
        ]
    );
    // The glue hands over evaluated values: `${arg_q}0` with q=5 is "50".
    let bound = template.bind(&["300", "200", "50", ""]).unwrap();
    let t = &bound.transform;
    assert_eq!((t.width, t.height, t.quality), (Some(300), Some(200), 50));
    assert_eq!(t.fit, crate::Fit::Cover);
    assert_eq!(bound.options, "fit=cover,width=300,height=200,quality=50");
    assert_eq!(bound.from_request, "width=300,height=200,quality=50");
}

#[test]
fn an_empty_variable_means_the_option_is_absent() {
    let template = compile("width=$arg_w,height=$arg_h");
    let bound = template.bind(&["", " "]).unwrap();
    assert_eq!(bound.transform, Transform::default());
    assert_eq!(bound.options, "");
}

#[test]
fn a_value_cannot_smuggle_in_more_options() {
    let template = compile("width=$arg_w,fit=cover");
    for value in [
        "100,format=png",
        "100,",
        ",format=png",
        "format=png",
        "100=",
        "1,2",
    ] {
        let err = request_error(&template, &[value]);
        assert_eq!(err.status(), 400, "{value}");
        assert_eq!(err.code(), Some(9401), "{value}");
        assert!(
            err.message.contains("option \"width\""),
            "{value}: {}",
            err.message
        );
        assert!(
            err.message.contains("cannot contain"),
            "{value}: {}",
            err.message
        );
    }
}

#[test]
fn a_value_its_option_cannot_take_is_refused_naming_the_option() {
    let template = compile("width=$arg_w,background=$arg_bg,format=$arg_f");
    for (values, option) in [
        (["abc", "", ""], "width"),
        (["1\u{0}", "", ""], "width"),
        (["10 0", "", ""], "width"),
        (["", "#ggg", ""], "background"),
        (["", "", "heic"], "format"),
        (["", "", "png;q=1"], "format"),
    ] {
        let err = request_error(&template, &values);
        assert_eq!(err.status(), 400, "{values:?}");
        assert!(
            err.message.contains(&format!("\"{option}\"")),
            "{values:?}: {}",
            err.message
        );
    }
}

#[test]
fn slot_values_are_trimmed_and_keywords_case_insensitive() {
    let template = compile("fit=$a,format=$b,background=$c");
    let bound = template.bind(&[" Cover ", "WEBP", "%23FFF"]).unwrap();
    assert_eq!(bound.transform.fit, crate::Fit::Cover);
    assert_eq!(bound.transform.format, Some(ImageFormat::Webp));
    assert_eq!(bound.transform.background, [255, 255, 255, 255]);
}

#[test]
fn option_names_cannot_come_from_variables() {
    for text in ["$arg_k=100", "${k}=1", "wid$x=1"] {
        let message = config_error(text);
        assert!(
            message.contains("cannot come from a variable"),
            "{text}: {message}"
        );
    }
}

#[test]
fn an_equals_sign_in_a_slot_source_is_a_configuration_error() {
    let message = config_error("width=$arg_w=1");
    assert!(message.contains("\"width\" has \"=\""), "{message}");
}

#[test]
fn quotes_inside_the_template_are_refused_with_a_hint() {
    for text in ["width=\"100\"", "background='#fff'", "width=\"$arg_w\""] {
        let message = config_error(text);
        assert!(
            message.contains("quote the whole argument"),
            "{text}: {message}"
        );
    }
}

#[test]
fn the_whole_string_form_parses_a_list_from_the_request() {
    let template = compile("$arg_o");
    assert_eq!(sources(&template), [(None, "$arg_o")]);
    let bound = template.bind(&["w=100,format=png, fit = cover"]).unwrap();
    assert_eq!(bound.transform.width, Some(100));
    assert_eq!(bound.transform.format, Some(ImageFormat::Png));
    assert_eq!(bound.from_request, "width=100,format=png,fit=cover");
    // Its own repeats: the last one wins, as in `parse`.
    assert_eq!(
        template.bind(&["w=1,w=2"]).unwrap().transform.width,
        Some(2)
    );
    let err = request_error(&template, &["w=abc"]);
    assert!(err.message.contains("\"w\""), "{}", err.message);
    let err = request_error(&template, &["nope=1"]);
    assert!(
        err.message.contains("unknown option \"nope\""),
        "{}",
        err.message
    );
}

#[test]
fn a_whole_list_cannot_override_what_the_template_sets() {
    let template = compile("quality=60,width=$arg_w,$arg_o");
    for list in ["q=100", "quality=1", "width=5", "w=5,fit=cover"] {
        let err = request_error(&template, &["", list]);
        assert_eq!(err.status(), 400, "{list}");
        assert!(
            err.message.contains("set by the configuration"),
            "{list}: {}",
            err.message
        );
    }
    let bound = template.bind(&["10", "fit=cover"]).unwrap();
    assert_eq!(bound.transform.quality, 60);
    assert_eq!(bound.transform.width, Some(10));
    assert_eq!(bound.options, "quality=60,width=10,fit=cover");
}

#[test]
fn dpr_applies_whichever_side_sets_it() {
    let template = compile("dpr=2,width=$w");
    assert_eq!(template.bind(&["150"]).unwrap().transform.width, Some(300));
    let template = compile("width=150,dpr=$d");
    assert_eq!(template.bind(&["3"]).unwrap().transform.width, Some(450));
    assert_eq!(template.bind(&[""]).unwrap().transform.width, Some(150));
}

#[test]
fn negotiation_is_possible_only_when_the_format_can_be_auto() {
    assert!(!compile("width=$w").may_negotiate());
    assert!(!compile("format=webp,width=$w").may_negotiate());
    assert!(compile("format=auto").may_negotiate());
    assert!(compile("format=$arg_f").may_negotiate());
    assert!(compile("$arg_o").may_negotiate());
    let bound = compile("f=auto").bind::<&str>(&[]).unwrap();
    assert!(bound.transform.auto_format);
}

#[test]
fn a_wrong_number_of_values_is_an_internal_error() {
    let err = request_error(&compile("width=$w"), &[]);
    assert_eq!(err.kind, ErrorKind::Internal);
}

#[test]
fn no_request_value_ever_sets_another_option() {
    // Hostile values built from the characters that matter to the option
    // syntax: whatever a request sends, at most the slot's own option is
    // set, and every refusal is a 400 naming it.
    const ALPHABET: &[&str] = &[
        ",", "=", " ", "\t", "w", "width", "format", "png", "1", "0", "#", "%2C", "$", "\"", "\0",
        "é", "auto", "\r\n",
    ];
    let template = compile("width=$arg_w,fit=cover");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..5000 {
        let len = (next() % 8) as usize;
        let value: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        match template.bind(&[value.as_str()]) {
            Ok(bound) => {
                let t = &bound.transform;
                let expected = Transform {
                    width: t.width,
                    fit: crate::Fit::Cover,
                    ..Transform::default()
                };
                assert_eq!(t, &expected, "{value:?}");
                assert!(
                    bound.from_request.is_empty() || bound.from_request.starts_with("width="),
                    "{value:?}: {}",
                    bound.from_request
                );
                assert!(!bound.from_request.contains(','), "{value:?}");
            }
            Err(err) => {
                assert_eq!((err.status(), err.code()), (400, Some(9401)), "{value:?}");
                assert!(
                    err.message.contains("\"width\""),
                    "{value:?}: {}",
                    err.message
                );
            }
        }
    }
}
