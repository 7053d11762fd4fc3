"""The dashboard's login page: a person's name and password, and a machine reader key as the second option.

One form (so a key still logs in by filling only its field): the gateway takes a non-empty ``username`` as a
person's login and otherwise the ``key``; the CSRF pair is the one of ``hub.dashboard.sessions.Sessions``.
"""

from __future__ import annotations

from html import escape

from hub.dashboard.html import page


def _e(text: str) -> str:
    return escape(text, quote=True)


def render(error: str | None = None, next_path: str = "/dashboard", *, csrf: str = "") -> str:
    message = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    return page("Đăng nhập", (
        '<section class="login"><h1>Đăng nhập</h1>'
        f'{message}<form method="post" action="/dashboard/login">'
        f'<input type="hidden" name="next" value="{_e(next_path)}">'
        f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
        '<label for="username">Tên đăng nhập</label>'
        '<input id="username" name="username" type="text" autocomplete="username" maxlength="64" '
        'autocapitalize="none" spellcheck="false">'
        '<label for="password">Mật khẩu</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" maxlength="1024">'
        '<p>Hoặc, cho quản trị viên: khóa đọc (reader key) do <code>hub systems add --role reader</code> cấp '
        '(để trống tên đăng nhập).</p>'
        '<label for="key">Khóa đọc</label>'
        '<input id="key" name="key" type="password" autocomplete="off" maxlength="128">'
        '<button type="submit">Đăng nhập</button></form></section>'), logged_in=False)
