/* cable-bridge-ui: the desktop's QR window for cable-bridged (GTK 4, org.cablebridge.Bridge1 on the session bus). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <gtk/gtk.h>
#include <unistd.h>
#ifdef GDK_WINDOWING_X11
#include <gdk/x11/gdkx.h>
#endif

#include "cable/bytes.h"
#include "cable/qr-render.h"

#define BRIDGE_NAME "org.cablebridge.Bridge1"
#define BRIDGE_PATH "/org/cablebridge/Bridge"
#define BRIDGE_IFACE "org.cablebridge.Bridge1"
#define UI_APP_ID "org.cablebridge.BridgeUI"
#define PORTAL_NAME "org.freedesktop.portal.Desktop"
#define PORTAL_PATH "/org/freedesktop/portal/desktop"
#define PORTAL_SETTINGS "org.freedesktop.portal.Settings"

/*
 * A phone camera scanning at about 50 cm sees roughly 2 px/mm in its 720p/1080p preview; three or
 * more camera pixels per module read reliably, so a module should be about 1.5 mm on the screen.
 */
#define MODULE_MM 1.5
#define MODULE_MIN_PX 4
#define MODULE_MAX_PX 16
#define DEFAULT_PX_PER_MM (96.0 / 25.4)

struct ui {
	GtkApplication *app;
	GDBusConnection *conn;
	GHashTable *wins; /* request id (guint64 *) -> struct rwin * */
	guint sub_signals, sub_portal, watch;
	guint idle_src;
	int idle_timeout_s; /* quit after this long without windows; 0 = never */
	int module_px;      /* forced module size (--module-px), 0 = from the monitor */
	gboolean held;
};

/* One request's window. */
struct rwin {
	struct ui *ui;
	guint64 id;
	char *rp_id, *type, *url;
	struct cable_qr_symbol *sym;
	GtkWidget *win, *area, *state_label, *button;
	int module; /* logical pixels per module (device pixels = module * scale factor) */
	gboolean ended;
	gboolean drawn; /* geometry logged (tests locate the code and the button with it) */
};

static void
logmsg(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void
logmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("cable-bridge-ui: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* ---- idle exit ------------------------------------------------------------------------------- */

static gboolean
on_idle_timeout(gpointer data)
{
	struct ui *ui = data;

	ui->idle_src = 0;
	logmsg("no request for %d s: exiting", ui->idle_timeout_s);
	g_application_quit(G_APPLICATION(ui->app));
	return G_SOURCE_REMOVE;
}

static void
idle_check(struct ui *ui)
{
	if (g_hash_table_size(ui->wins) > 0) {
		if (ui->idle_src != 0) {
			g_source_remove(ui->idle_src);
			ui->idle_src = 0;
		}
		return;
	}
	if (ui->idle_src == 0 && ui->idle_timeout_s > 0)
		ui->idle_src = g_timeout_add_seconds((guint)ui->idle_timeout_s, on_idle_timeout, ui);
}

/* ---- the QR code ----------------------------------------------------------------------------- */

/* Whole logical pixels per module for about MODULE_MM on this monitor. */
static int
module_for_monitor(struct ui *ui, GdkDisplay *display, double *px_per_mm_out)
{
	GListModel *monitors;
	GdkMonitor *mon;
	GdkRectangle geo;
	double px_per_mm = DEFAULT_PX_PER_MM;
	int mm, m;

	if (display != NULL && (monitors = gdk_display_get_monitors(display)) != NULL &&
	    g_list_model_get_n_items(monitors) > 0 &&
	    (mon = g_list_model_get_item(monitors, 0)) != NULL) {
		gdk_monitor_get_geometry(mon, &geo);
		mm = gdk_monitor_get_width_mm(mon);
		/*
		 * Bogus sizes (projectors, VMs, headless compositors that say 1 mm per pixel): only a
		 * plausible density (about 50 to 500 dpi) replaces the default.
		 */
		if (mm >= 100 && geo.width > 0 && (double)geo.width / mm >= 2.0 &&
		    (double)geo.width / mm <= 20.0)
			px_per_mm = (double)geo.width / mm;
		g_object_unref(mon);
	}
	*px_per_mm_out = px_per_mm;
	if (ui->module_px > 0)
		return ui->module_px;
	m = (int)lround(MODULE_MM * px_per_mm);
	return m < MODULE_MIN_PX ? MODULE_MIN_PX : m > MODULE_MAX_PX ? MODULE_MAX_PX : m;
}

static int
qr_side(const struct rwin *rw)
{
	return (rw->sym->width + 2 * CABLE_QR_QUIET_ZONE) * rw->module;
}

/*
 * Dark on light always, whatever the theme (cameras and the QR standard expect it), with the
 * quiet zone; every module edge on a whole device pixel (integer module size and origin,
 * antialiasing off), so the code is crisp at any integer scale factor.
 */
static void
draw_qr(GtkDrawingArea *area, cairo_t *cr, int w, int h, gpointer data)
{
	struct rwin *rw = data;
	int side = qr_side(rw), q = CABLE_QR_QUIET_ZONE, m = rw->module;
	int x0 = (w - side) / 2, y0 = (h - side) / 2;

	(void)area;
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_rectangle(cr, x0, y0, side, side);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	for (int y = 0; y < rw->sym->width; y++)
		for (int x = 0; x < rw->sym->width; x++)
			if (cable_qr_symbol_dark(rw->sym, x, y))
				cairo_rectangle(cr, x0 + (x + q) * m, y0 + (y + q) * m, m, m);
	cairo_fill(cr);
	if (!rw->drawn) {
		graphene_rect_t qb, bb;

		rw->drawn = TRUE;
		if (gtk_widget_compute_bounds(rw->area, rw->win, &qb) &&
		    gtk_widget_compute_bounds(rw->button, rw->win, &bb))
			logmsg("request %" G_GUINT64_FORMAT ": QR drawn at %d,%d size %d; Cancel button at "
			    "%d,%d size %dx%d", rw->id, (int)qb.origin.x + x0, (int)qb.origin.y + y0, side,
			    (int)bb.origin.x, (int)bb.origin.y, (int)bb.size.width, (int)bb.size.height);
	}
}

/* ---- windows --------------------------------------------------------------------------------- */

static const char *
state_words(const char *state)
{
	static const struct {
		const char *state, *words;
	} t[] = {
		{"waiting-for-phone", "Waiting for your phone: scan the QR code with its camera."},
		{"phone-found", "Your phone is nearby. Connecting…"},
		{"connected", "Connected to your phone."},
		{"waiting-for-user", "Confirm on your phone."},
		{"done", "Done."},
		{"failed", "It did not work."},
		{"cancelled", "Cancelled."},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (strcmp(state, t[i].state) == 0)
			return t[i].words;
	return state;
}

static void
rwin_set_state(struct rwin *rw, const char *state, const char *reason)
{
	char *text;

	if (reason != NULL && reason[0] != '\0' && strcmp(state, "failed") == 0)
		text = g_strdup_printf("%s (%s)", state_words(state), reason);
	else
		text = g_strdup(state_words(state));
	gtk_label_set_text(GTK_LABEL(rw->state_label), text);
	logmsg("request %" G_GUINT64_FORMAT ": %s", rw->id, state);
	g_free(text);
}

static void
rwin_free(gpointer p)
{
	struct rwin *rw = p;

	if (rw->url != NULL) {
		cable_wipe(rw->url, strlen(rw->url));
		g_free(rw->url);
	}
	g_free(rw->rp_id);
	g_free(rw->type);
	cable_qr_symbol_free(&rw->sym);
	g_free(rw);
}

static void
on_cancel_reply(GObject *src, GAsyncResult *res, gpointer data)
{
	GError *err = NULL;
	GVariant *v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &err);

	if (v != NULL)
		g_variant_unref(v);
	if (err != NULL) {
		logmsg("Cancel failed: %s", err->message);
		g_error_free(err);
	}
	(void)data;
}

static void
send_cancel(struct rwin *rw)
{
	logmsg("request %" G_GUINT64_FORMAT ": cancelling", rw->id);
	g_dbus_connection_call(rw->ui->conn, BRIDGE_NAME, BRIDGE_PATH, BRIDGE_IFACE, "Cancel",
	    g_variant_new("(t)", rw->id), NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL,
	    on_cancel_reply, NULL);
}

static void
on_cancel_clicked(GtkButton *button, gpointer data)
{
	struct rwin *rw = data;

	(void)button;
	gtk_widget_set_sensitive(GTK_WIDGET(button), FALSE);
	send_cancel(rw);
}

/* Closing the window is cancelling the request (the browser is told the person declined). */
static gboolean
on_close_request(GtkWindow *win, gpointer data)
{
	struct rwin *rw = data;

	(void)win;
	if (!rw->ended)
		send_cancel(rw);
	return FALSE;
}

static void
on_destroy(GtkWidget *w, gpointer data)
{
	struct rwin *rw = data;
	struct ui *ui = rw->ui;

	(void)w;
	logmsg("request %" G_GUINT64_FORMAT ": window closed", rw->id);
	g_hash_table_remove(ui->wins, &rw->id);
	idle_check(ui);
}

static void
on_map(GtkWidget *w, gpointer data)
{
	struct rwin *rw = data;
	unsigned long xid = 0;
	GdkSurface *s = gtk_native_get_surface(GTK_NATIVE(w));

#ifdef GDK_WINDOWING_X11
	if (s != NULL && GDK_IS_X11_SURFACE(s))
		xid = (unsigned long)gdk_x11_surface_get_xid(s);
#endif
	logmsg("request %" G_GUINT64_FORMAT ": window shown (X11 window 0x%lx, %s): QR %d+%d modules "
	    "of %d px at scale %d", rw->id, xid, s != NULL ? G_OBJECT_TYPE_NAME(s) : "?",
	    rw->sym->width, 2 * CABLE_QR_QUIET_ZONE, rw->module, gtk_widget_get_scale_factor(w));
}

static void
rwin_new(struct ui *ui, guint64 id, const char *rp_id, const char *type, const char *url,
    const char *state)
{
	struct rwin *rw;
	GtkWidget *box, *heading, *hint, *button;
	char *title, *markup, *label, *esc;
	double px_per_mm;
	guint64 *key;

	if ((rw = g_hash_table_lookup(ui->wins, &id)) != NULL) {
		rwin_set_state(rw, state, "");
		return;
	}
	rw = g_new0(struct rwin, 1);
	rw->ui = ui;
	rw->id = id;
	rw->rp_id = g_strdup(rp_id);
	rw->type = g_strdup(type);
	rw->url = g_strdup(url);
	if (strncmp(url, "FIDO:/", 6) != 0 || cable_qr_symbol_encode(url, 0, &rw->sym) != 0) {
		logmsg("request %" G_GUINT64_FORMAT ": not a FIDO:/ URL that fits a QR code", id);
		rwin_free(rw);
		return;
	}
	rw->module = module_for_monitor(ui, gdk_display_get_default(), &px_per_mm);

	rw->win = gtk_application_window_new(ui->app);
	title = g_strdup_printf("cable-bridge: %s", rp_id);
	gtk_window_set_title(GTK_WINDOW(rw->win), title);
	gtk_window_set_resizable(GTK_WINDOW(rw->win), FALSE);
	box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_widget_set_margin_top(box, 24);
	gtk_widget_set_margin_bottom(box, 24);
	gtk_widget_set_margin_start(box, 24);
	gtk_widget_set_margin_end(box, 24);

	esc = g_markup_escape_text(rp_id, -1);
	markup = g_strdup_printf(strcmp(type, "makeCredential") == 0 ?
	    "<span size='large'><b>%s</b> wants to save a passkey on your phone</span>" :
	    "<span size='large'><b>%s</b> wants to sign you in with a passkey from your phone</span>", esc);
	heading = gtk_label_new(NULL);
	gtk_label_set_markup(GTK_LABEL(heading), markup);
	gtk_label_set_wrap(GTK_LABEL(heading), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(heading), 40);
	gtk_label_set_justify(GTK_LABEL(heading), GTK_JUSTIFY_CENTER);
	gtk_box_append(GTK_BOX(box), heading);

	rw->area = g_object_new(GTK_TYPE_DRAWING_AREA, "accessible-role", GTK_ACCESSIBLE_ROLE_IMG, NULL);
	gtk_drawing_area_set_content_width(GTK_DRAWING_AREA(rw->area), qr_side(rw));
	gtk_drawing_area_set_content_height(GTK_DRAWING_AREA(rw->area), qr_side(rw));
	gtk_drawing_area_set_draw_func(GTK_DRAWING_AREA(rw->area), draw_qr, rw, NULL);
	gtk_widget_set_halign(rw->area, GTK_ALIGN_CENTER);
	gtk_widget_set_valign(rw->area, GTK_ALIGN_CENTER);
	label = g_strdup_printf("QR code to sign in to %s with your phone", rp_id);
	gtk_accessible_update_property(GTK_ACCESSIBLE(rw->area), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
	    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
	    "Scan it with the camera of a phone that has your passkey; Bluetooth must be on.", -1);
	gtk_box_append(GTK_BOX(box), rw->area);

	hint = gtk_label_new("Scan the code with your phone's camera. Keep Bluetooth on: the phone "
	    "must be near this computer.");
	gtk_label_set_wrap(GTK_LABEL(hint), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(hint), 44);
	gtk_label_set_justify(GTK_LABEL(hint), GTK_JUSTIFY_CENTER);
	gtk_widget_add_css_class(hint, "dim-label");
	gtk_box_append(GTK_BOX(box), hint);

	rw->state_label = gtk_label_new("");
	gtk_label_set_wrap(GTK_LABEL(rw->state_label), TRUE);
	gtk_label_set_max_width_chars(GTK_LABEL(rw->state_label), 44);
	gtk_label_set_justify(GTK_LABEL(rw->state_label), GTK_JUSTIFY_CENTER);
	gtk_accessible_update_property(GTK_ACCESSIBLE(rw->state_label), GTK_ACCESSIBLE_PROPERTY_LABEL,
	    "Status", -1);
	gtk_box_append(GTK_BOX(box), rw->state_label);

	rw->button = button = gtk_button_new_with_mnemonic("_Cancel");
	gtk_widget_set_halign(button, GTK_ALIGN_CENTER);
	g_signal_connect(button, "clicked", G_CALLBACK(on_cancel_clicked), rw);
	gtk_box_append(GTK_BOX(box), button);

	gtk_window_set_child(GTK_WINDOW(rw->win), box);
	gtk_window_set_default_widget(GTK_WINDOW(rw->win), button);
	g_signal_connect(rw->win, "close-request", G_CALLBACK(on_close_request), rw);
	g_signal_connect(rw->win, "destroy", G_CALLBACK(on_destroy), rw);
	g_signal_connect(rw->win, "map", G_CALLBACK(on_map), rw);

	key = g_new(guint64, 1);
	*key = id;
	g_hash_table_insert(ui->wins, key, rw);
	rwin_set_state(rw, state, "");
	logmsg("request %" G_GUINT64_FORMAT ": %s for %s (%.2f px/mm: %d px per module)", id, type, rp_id,
	    px_per_mm, rw->module);
	idle_check(ui);
	gtk_window_present(GTK_WINDOW(rw->win));
	g_free(label);
	g_free(markup);
	g_free(esc);
	g_free(title);
}

static void
rwin_end(struct ui *ui, guint64 id, const char *state, const char *reason)
{
	struct rwin *rw = g_hash_table_lookup(ui->wins, &id);

	if (rw == NULL)
		return;
	rw->ended = TRUE;
	rwin_set_state(rw, state, reason);
	logmsg("request %" G_GUINT64_FORMAT ": ended (%s%s%s)", id, state, reason[0] != '\0' ? ": " : "",
	    reason);
	gtk_window_destroy(GTK_WINDOW(rw->win));
}

static void
close_all(struct ui *ui, const char *why)
{
	GList *vals = g_hash_table_get_values(ui->wins);

	for (GList *l = vals; l != NULL; l = l->next) {
		struct rwin *rw = l->data;

		rw->ended = TRUE;
		logmsg("request %" G_GUINT64_FORMAT ": %s", rw->id, why);
		gtk_window_destroy(GTK_WINDOW(rw->win));
	}
	g_list_free(vals);
}

/* ---- the bridge on the bus -------------------------------------------------------------------- */

static void
on_bridge_signal(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
    const char *member, GVariant *params, gpointer data)
{
	struct ui *ui = data;
	const char *rp_id, *type, *url, *state, *reason;
	guint64 id;
	struct rwin *rw;

	(void)conn;
	(void)sender;
	(void)path;
	(void)iface;
	if (strcmp(member, "RequestStarted") == 0 && g_variant_is_of_type(params, G_VARIANT_TYPE("(tsss)"))) {
		g_variant_get(params, "(t&s&s&s)", &id, &rp_id, &type, &url);
		rwin_new(ui, id, rp_id, type, url, "waiting-for-phone");
	} else if (strcmp(member, "RequestStateChanged") == 0 &&
	    g_variant_is_of_type(params, G_VARIANT_TYPE("(tss)"))) {
		g_variant_get(params, "(t&s&s)", &id, &state, &reason);
		if ((rw = g_hash_table_lookup(ui->wins, &id)) != NULL)
			rwin_set_state(rw, state, reason);
	} else if (strcmp(member, "RequestEnded") == 0 && g_variant_is_of_type(params, G_VARIANT_TYPE("(tss)"))) {
		g_variant_get(params, "(t&s&s)", &id, &state, &reason);
		rwin_end(ui, id, state, reason);
	}
}

/* Requests that began before we were started (D-Bus activation happens after RequestStarted). */
static void
on_requests(GObject *src, GAsyncResult *res, gpointer data)
{
	struct ui *ui = data;
	GError *err = NULL;
	GVariant *v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &err), *inner = NULL;
	GVariantIter it;
	const char *rp_id, *type, *url, *state;
	guint64 id;

	if (v == NULL) {
		logmsg("cannot read the bridge's requests: %s", err->message);
		g_error_free(err);
		return;
	}
	g_variant_get(v, "(v)", &inner);
	if (g_variant_is_of_type(inner, G_VARIANT_TYPE("a(tssss)"))) {
		g_variant_iter_init(&it, inner);
		while (g_variant_iter_next(&it, "(t&s&s&s&s)", &id, &rp_id, &type, &url, &state))
			rwin_new(ui, id, rp_id, type, url, state);
	}
	g_variant_unref(inner);
	g_variant_unref(v);
}

static void
on_bridge_appeared(GDBusConnection *conn, const char *name, const char *owner, gpointer data)
{
	struct ui *ui = data;

	logmsg("cable-bridged is on the bus (%s)", owner);
	g_dbus_connection_call(conn, BRIDGE_NAME, BRIDGE_PATH, "org.freedesktop.DBus.Properties", "Get",
	    g_variant_new("(ss)", BRIDGE_IFACE, "Requests"), G_VARIANT_TYPE("(v)"),
	    G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, on_requests, ui);
}

static void
on_bridge_vanished(GDBusConnection *conn, const char *name, gpointer data)
{
	struct ui *ui = data;

	(void)conn;
	(void)name;
	close_all(ui, "cable-bridged left the bus");
	idle_check(ui);
}

/* ---- dark or light ----------------------------------------------------------------------------- */

/* org.freedesktop.appearance color-scheme: 0 no preference, 1 prefer dark, 2 prefer light.
 * V is borrowed. Older portals wrap the value in a second variant; a few levels are unwrapped. */
static void
apply_color_scheme(GVariant *v)
{
	GtkSettings *settings = gtk_settings_get_default();
	GVariant *cur, *next;
	guint32 scheme;

	if (v == NULL)
		return;
	cur = g_variant_ref(v);
	for (int depth = 0; depth < 4 && g_variant_is_of_type(cur, G_VARIANT_TYPE_VARIANT); depth++) {
		next = g_variant_get_variant(cur);
		g_variant_unref(cur);
		cur = next;
	}
	if (!g_variant_is_of_type(cur, G_VARIANT_TYPE_UINT32) || settings == NULL) {
		g_variant_unref(cur);
		return;
	}
	scheme = g_variant_get_uint32(cur);
	g_variant_unref(cur);
	if (scheme == 1 || scheme == 2) {
		g_object_set(settings, "gtk-application-prefer-dark-theme", scheme == 1, NULL);
		logmsg("colour scheme from the portal: %s", scheme == 1 ? "dark" : "light");
	}
}

static void
on_portal_read(GObject *src, GAsyncResult *res, gpointer data)
{
	GVariant *v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, NULL), *inner;

	(void)data;
	if (v == NULL)
		return; /* no portal: GTK's own settings (gsettings, settings.ini, GTK_THEME) decide */
	g_variant_get(v, "(v)", &inner);
	apply_color_scheme(inner);
	g_variant_unref(inner);
	g_variant_unref(v);
}

static void
on_portal_signal(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
    const char *member, GVariant *params, gpointer data)
{
	const char *ns, *key;
	GVariant *value;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(ssv)")))
		return;
	g_variant_get(params, "(&s&sv)", &ns, &key, &value);
	if (strcmp(ns, "org.freedesktop.appearance") == 0 && strcmp(key, "color-scheme") == 0)
		apply_color_scheme(value);
	g_variant_unref(value);
}

/* ---- the application ------------------------------------------------------------------------- */

static void
on_startup(GApplication *app, gpointer data)
{
	struct ui *ui = data;

	ui->conn = g_application_get_dbus_connection(app);
	if (ui->conn == NULL) {
		logmsg("no session bus: nothing to listen to");
		return;
	}
	g_object_ref(ui->conn);
	g_application_hold(app);
	ui->held = TRUE;
	ui->sub_signals = g_dbus_connection_signal_subscribe(ui->conn, BRIDGE_NAME, BRIDGE_IFACE, NULL,
	    BRIDGE_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_bridge_signal, ui, NULL);
	ui->watch = g_bus_watch_name_on_connection(ui->conn, BRIDGE_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
	    on_bridge_appeared, on_bridge_vanished, ui, NULL);
	ui->sub_portal = g_dbus_connection_signal_subscribe(ui->conn, PORTAL_NAME, PORTAL_SETTINGS,
	    "SettingChanged", PORTAL_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_portal_signal, NULL, NULL);
	g_dbus_connection_call(ui->conn, PORTAL_NAME, PORTAL_PATH, PORTAL_SETTINGS, "Read",
	    g_variant_new("(ss)", "org.freedesktop.appearance", "color-scheme"), G_VARIANT_TYPE("(v)"),
	    G_DBUS_CALL_FLAGS_NONE, 2000, NULL, on_portal_read, NULL);
	idle_check(ui);
	logmsg("listening for cable-bridged requests (pid %ld)", (long)getpid());
}

static gboolean
on_sigterm(gpointer data)
{
	struct ui *ui = data;

	logmsg("stopping (SIGTERM)");
	close_all(ui, "the window program is stopping");
	g_application_quit(G_APPLICATION(ui->app));
	return G_SOURCE_CONTINUE;
}

static void
on_activate(GApplication *app, gpointer data)
{
	/* Started by hand or activated again: the windows follow the bridge's requests, nothing else. */
	(void)app;
	(void)data;
}

static void
usage(FILE *f)
{
	fputs("usage: cable-bridge-ui [--idle-timeout SEC] [--module-px N]\n"
	      "Shows cable-bridged's QR codes: one window per sign-in request, with the site, the\n"
	      "state and a Cancel button. Started by D-Bus activation (org.cablebridge.BridgeUI).\n\n"
	      "  --idle-timeout SEC  exit after SEC seconds without a request (default 60, 0 = never)\n"
	      "  --module-px N       pixels per QR module (default: about 1.5 mm on the monitor)\n"
	      "  --help\n",
	    f);
}

static gboolean
parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return FALSE;
	*out = (int)v;
	return TRUE;
}

int
main(int argc, char **argv)
{
	struct ui ui;
	char *args[] = {argv[0], NULL};
	int code;

	memset(&ui, 0, sizeof(ui));
	ui.idle_timeout_s = 60;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--idle-timeout") == 0 && i + 1 < argc &&
		    parse_int(argv[i + 1], 0, 86400, &ui.idle_timeout_s)) {
			i++;
		} else if (strcmp(argv[i], "--module-px") == 0 && i + 1 < argc &&
		    parse_int(argv[i + 1], 1, 64, &ui.module_px)) {
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	ui.wins = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, rwin_free);
#if GLIB_CHECK_VERSION(2, 74, 0)
	ui.app = gtk_application_new(UI_APP_ID, G_APPLICATION_DEFAULT_FLAGS);
#else
	ui.app = gtk_application_new(UI_APP_ID, G_APPLICATION_FLAGS_NONE);
#endif
	g_signal_connect(ui.app, "startup", G_CALLBACK(on_startup), &ui);
	g_signal_connect(ui.app, "activate", G_CALLBACK(on_activate), &ui);
	g_unix_signal_add(SIGTERM, on_sigterm, &ui);
	g_unix_signal_add(SIGINT, on_sigterm, &ui);
	code = g_application_run(G_APPLICATION(ui.app), 1, args);
	if (ui.idle_src != 0)
		g_source_remove(ui.idle_src);
	if (ui.conn != NULL) {
		g_dbus_connection_signal_unsubscribe(ui.conn, ui.sub_signals);
		g_dbus_connection_signal_unsubscribe(ui.conn, ui.sub_portal);
		g_bus_unwatch_name(ui.watch);
		g_object_unref(ui.conn);
	}
	g_hash_table_destroy(ui.wins);
	g_object_unref(ui.app);
	return code;
}
