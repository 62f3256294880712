"""SIPAS samples drawn from the dossier register (issue 16, item 4).

The province's public-service portal exports the dossiers returned in a
period (mã hồ sơ, thủ tục, cơ quan, ngày trả kết quả, phone, e-mail). This
package checks that file strictly (``register.py``), draws a stratified
random sample by agency and procedure from a recorded seed (``sampling.py``,
pure), turns the drawn citizens into respondents of the round's citizen group
so that the existing campaign engine e-mails them personal links, exports an
SMS file with the same kind of links, and deletes their contact details when
the round closes (``services.py``). Their responses carry the channel
"sample" and nothing of the dossier.
"""

from __future__ import annotations


def init_app(app) -> None:
    from survey.samples.views import bp

    app.register_blueprint(bp)
