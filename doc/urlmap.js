// SPDX-License-Identifier: LGPL-2.1-or-later
// Where gi-docgen's links into other namespaces lead: the online GLib
// reference. These are plain links; no page loads anything from them.
baseURLs = [
  ['GLib', 'https://docs.gtk.org/glib/'],
  ['GModule', 'https://docs.gtk.org/gmodule/'],
  ['GObject', 'https://docs.gtk.org/gobject/'],
  ['Gio', 'https://docs.gtk.org/gio/'],
]
