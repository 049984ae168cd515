"""Closes an X window the way a person's click on its close button does: the
window manager sends the window a WM_DELETE_WINDOW message (ICCCM), which the
app receives as a close request. Under Xvfb there is no window manager, so this
sends that message itself, over libX11 through ctypes (nothing to install).

    close_windows("Portcullis")  # every top-level window titled so; returns how many
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
_x11.XOpenDisplay.restype = ctypes.c_void_p
_x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
_x11.XDefaultRootWindow.restype = ctypes.c_ulong
_x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
_x11.XInternAtom.restype = ctypes.c_ulong
_x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
_x11.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)), ctypes.POINTER(ctypes.c_uint)]
_x11.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
_x11.XFree.argtypes = [ctypes.c_void_p]
_x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
_x11.XFlush.argtypes = [ctypes.c_void_p]
_x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

CLIENT_MESSAGE = 33


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _Event(ctypes.Union):
    # XEvent is 24 longs; the message is one of its members.
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


def close_windows(title: str) -> int:
    """Asks every top-level window named `title` to close; returns how many were asked."""
    display = _x11.XOpenDisplay(os.environ["DISPLAY"].encode())
    if not display:
        raise RuntimeError(f"cannot open the X display {os.environ['DISPLAY']}")
    try:
        root = _x11.XDefaultRootWindow(display)
        protocols = _x11.XInternAtom(display, b"WM_PROTOCOLS", 0)
        delete = _x11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        root_ret, parent_ret = ctypes.c_ulong(), ctypes.c_ulong()
        children, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        _x11.XQueryTree(display, root, ctypes.byref(root_ret), ctypes.byref(parent_ret), ctypes.byref(children), ctypes.byref(count))
        asked = 0
        for i in range(count.value):
            window = children[i]
            name = ctypes.c_char_p()
            if not _x11.XFetchName(display, window, ctypes.byref(name)) or not name.value:
                continue
            matches = name.value.decode(errors="replace") == title
            _x11.XFree(name)
            if not matches:
                continue
            event = _Event()
            event.xclient.type = CLIENT_MESSAGE
            event.xclient.window = window
            event.xclient.message_type = protocols
            event.xclient.format = 32
            event.xclient.data[0] = delete
            event.xclient.data[1] = 0  # CurrentTime
            _x11.XSendEvent(display, window, 0, 0, ctypes.byref(event))
            asked += 1
        if children:
            _x11.XFree(children)
        _x11.XFlush(display)
        return asked
    finally:
        _x11.XCloseDisplay(display)
