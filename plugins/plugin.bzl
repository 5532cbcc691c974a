"""A plugin is one alwayslink cc_library; each kind's `all` target links every plugin in its package."""

_TAG = "hardgnn_plugin"

def plugin(name, srcs, deps = [], **kwargs):
    """One plugin: its static Registration runs when the library is linked in."""
    native.cc_library(
        name = name,
        srcs = srcs,
        deps = deps,
        alwayslink = True,
        tags = [_TAG],
        visibility = ["//visibility:public"],
        **kwargs
    )

def all_plugins(name = "all"):
    """Links every plugin() declared above it in this BUILD file: a new plugin needs no other edit."""
    native.cc_library(
        name = name,
        deps = [":" + r["name"] for r in native.existing_rules().values() if _TAG in r.get("tags", [])],
        visibility = ["//visibility:public"],
    )
