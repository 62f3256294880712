"""Staff forms: CSRF-protected, validated, with their messages in Vietnamese."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, ValidationError, InputRequired, Length, Optional, Regexp


class _Vietnamese:
    """WTForms ships no Vietnamese catalogue; these are the built-in messages our fields can show."""

    MESSAGES = {
        "This field is required.": "Vui lòng điền mục này.",
        "Not a valid integer value.": "Hãy nhập số nguyên.",
        "Not a valid datetime value.": "Thời điểm không hợp lệ.",
        "Not a valid choice.": "Lựa chọn không hợp lệ.",
        "Invalid Choice: could not coerce.": "Lựa chọn không hợp lệ.",
        "Invalid choice(s): one or more data inputs could not be coerced.": "Lựa chọn không hợp lệ.",
        "Invalid email address.": "Địa chỉ e-mail không hợp lệ.",
        "Not a valid date value.": "Ngày không hợp lệ (ngày/tháng/năm).",
    }

    def gettext(self, string: str) -> str:
        return self.MESSAGES.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


_VIETNAMESE = _Vietnamese()


class StaffForm(FlaskForm):
    """Base of every staff form: CSRF from Flask-WTF, field messages in Vietnamese."""

    class Meta:
        def get_translations(self, form):
            return _VIETNAMESE

    def first_error(self) -> str | None:
        """The first problem found, for pages that show one message above the form."""
        for messages in self.errors.values():
            for message in messages:
                return message
        return None


def choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def optional_id(label: str = "") -> IntegerField:
    """A select whose empty option means "all": None when empty, a refusal when not a number."""
    return IntegerField(label, validators=[Optional()])


class LoginForm(StaffForm):
    email = EmailField("E-mail", validators=[DataRequired("Vui lòng nhập e-mail."), Length(max=320)])
    password = PasswordField("Mật khẩu", validators=[DataRequired("Vui lòng nhập mật khẩu."), Length(max=200)])


class PasswordChangeForm(StaffForm):
    current = PasswordField("Mật khẩu hiện tại",
                            validators=[DataRequired("Vui lòng nhập mật khẩu hiện tại."), Length(max=200)])
    new = PasswordField("Mật khẩu mới (ít nhất 10 ký tự)",
                        validators=[DataRequired("Vui lòng nhập mật khẩu mới."), Length(max=200)])
    confirm = PasswordField("Nhập lại mật khẩu mới",
                            validators=[EqualTo("new", "Hai lần nhập mật khẩu mới không khớp nhau.")])


class UserForm(StaffForm):
    email = EmailField("E-mail", validators=[DataRequired("Vui lòng nhập e-mail."), Length(max=320)])
    full_name = StringField("Họ tên", validators=[DataRequired("Vui lòng nhập họ tên."), Length(max=200)])
    # The choices are the roles the signed-in administrator may grant, set by the view.
    role = SelectField("Vai trò", validate_choice=False)
    province_id = optional_id("Tỉnh")
    agency_id = optional_id("Cơ quan (cho đầu mối)")
    password = PasswordField("Mật khẩu ban đầu (ít nhất 10 ký tự)",
                             validators=[DataRequired("Vui lòng nhập mật khẩu."), Length(max=200)])


class DeactivateUserForm(StaffForm):
    user_id = IntegerField(validators=[InputRequired()])


class ClearLockForm(StaffForm):
    throttle_id = IntegerField(validators=[InputRequired()])


class ProvinceForm(StaffForm):
    code = StringField("Mã", filters=[lambda v: (v or "").strip().upper()], validators=[
        Regexp(r"^[A-Z0-9]{1,16}$", message="Vui lòng nhập mã tỉnh (chữ và số, tối đa 16 ký tự) và tên tỉnh.")])
    name = StringField("Tên", filters=[lambda v: " ".join((v or "").split())], validators=[
        DataRequired("Vui lòng nhập mã tỉnh (chữ và số, tối đa 16 ký tự) và tên tỉnh."), Length(max=120)])


class AuditFilterForm(StaffForm):
    """The audit log's filters, read from the query string: a GET form changes nothing, so no CSRF."""

    class Meta:
        csrf = False

    # Choices (areas, codes, people) are the ones in the viewer's scope, set by the view.
    action = SelectField("Hành động", validators=[Optional()])
    actor = SelectField("Người thực hiện", validators=[Optional()])
    since = DateField("Từ ngày", validators=[Optional()])
    until = DateField("Đến ngày", validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("Ngày kết thúc phải sau ngày bắt đầu.")
