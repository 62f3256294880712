"""Forms of the roster pages and the agency catalogue."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from openpyxl.utils import column_index_from_string
from wtforms import BooleanField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from survey.accounts.forms import choices
from survey.rounds.agencies import AGENCY_KINDS
from survey.rounds.forms import whole_number
from survey.roster.importing import FIELD_LABELS, FIELDS, MAX_COLUMNS
from survey.roster.people import PersonDetails


class PersonForm(FlaskForm):
    full_name = StringField("Họ và tên", validators=[InputRequired("Vui lòng nhập họ và tên."), Length(max=255)])
    position = StringField("Chức vụ", validators=[Optional(), Length(max=255)])
    agency_id = whole_number("Cơ quan, đơn vị", Optional())
    group_id = whole_number("Nhóm đối tượng", InputRequired("Vui lòng chọn nhóm đối tượng."))
    phone = StringField("Số điện thoại", validators=[Optional(), Length(max=40)])
    email = StringField("Email", validators=[Optional(), Length(max=320)])

    def details(self) -> PersonDetails:
        return PersonDetails(full_name=self.full_name.data or "", position=self.position.data or "",
                             email=self.email.data or "", phone=self.phone.data or "",
                             group_id=self.group_id.data, agency_id=self.agency_id.data)


class RemoveForm(FlaskForm):
    confirm = BooleanField("Tôi xác nhận xóa người đã được mời", false_values=("", "no"))


def _column(field_name: str):
    """A column given as its letter (A, B… on the upload page) or its 0-based index (the preview's lists)."""
    label = FIELD_LABELS[field_name]

    def check(form, field) -> None:
        value = (field.data or "").strip().upper()
        if not value:
            field.column = None
            return
        try:
            index = int(value) if value.isdigit() else column_index_from_string(value) - 1
        except ValueError:
            raise ValidationError(f"Cột “{label}”: hãy ghi chữ cái của cột (A, B, C…).") from None
        if not 0 <= index < MAX_COLUMNS:
            raise ValidationError(f"Cột “{label}”: phải nằm trong {MAX_COLUMNS} cột đầu tiên.")
        field.column = index

    return check


class ColumnsForm(FlaskForm):
    """Which column holds which field, when the header row is not recognised."""

    def mapping(self) -> dict[str, int]:
        chosen = {name: getattr(self[f"col_{name}"], "column", None) for name in FIELDS}
        return {name: column for name, column in chosen.items() if column is not None}


for _name in FIELDS:
    setattr(ColumnsForm, f"col_{_name}", StringField(FIELD_LABELS[_name], validators=[Length(max=8), _column(_name)]))


class UploadForm(ColumnsForm):
    file = FileField("Tệp danh sách", validators=[FileRequired("Vui lòng chọn tệp danh sách (.xlsx hoặc .csv).")])


class AgencyForm(FlaskForm):
    code = StringField("Mã", validators=[Optional(), Length(max=32)])
    name = StringField("Tên", validators=[Optional(), Length(max=255)])
    kind = SelectField("Loại", choices=list(AGENCY_KINDS), validate_choice=False)
    file = FileField("Tệp .xlsx/.csv có cột mã, tên, loại")


class DeactivateForm(FlaskForm):
    agency_id = whole_number("Cơ quan", InputRequired("Vui lòng chọn cơ quan."))


class AgencyNameForm(FlaskForm):
    """An agency name of an uploaded file, mapped to an existing agency or added to the catalogue."""

    name = HiddenField(validators=[InputRequired("Thiếu tên cơ quan."), Length(max=255)])
    action = SelectField(choices=choices({"map": "Ghi nhớ", "add": "Thêm mới"}))
    agency_id = whole_number("Cơ quan trong danh mục", Optional())
    code = StringField("Mã", validators=[Optional(), Length(max=32)])
    kind = SelectField("Loại", choices=choices(AGENCY_KINDS), validate_choice=False)

    def validate_agency_id(self, field) -> None:
        if self.action.data == "map" and field.data is None:
            raise ValidationError("Vui lòng chọn cơ quan trong danh mục.")

    def validate_code(self, field) -> None:
        if self.action.data == "add" and not (field.data or "").strip():
            raise ValidationError("Vui lòng nhập mã cho cơ quan mới.")


DECISIONS = choices({"keep": "Giữ như đang có trong danh sách", "take": "Lấy theo tệp"})


def decisions_form(rows: list[int]) -> FlaskForm:
    """One keep/take choice per conflicting row of a preview (``choice_<row>``)."""

    class DecisionsForm(FlaskForm):
        def choices(self) -> dict[int, str]:
            return {row: self[f"choice_{row}"].data for row in rows if self[f"choice_{row}"].data}

    for row in rows:
        setattr(DecisionsForm, f"choice_{row}", RadioField(f"Dòng {row}", choices=DECISIONS,
                                                           validators=[Optional()]))
    return DecisionsForm()


BULK_ACTIONS = {"remove": "Xóa khỏi danh sách", "invite": "Gửi thư mời", "remind": "Gửi thư nhắc"}


class BulkForm(FlaskForm):
    """An action on the people ticked in the respondent list."""

    respondent = SelectMultipleField(coerce=int, validate_choice=False)
    action = SelectField(choices=choices(BULK_ACTIONS))
    confirm = BooleanField("Tôi xác nhận xóa cả người đã được gửi đường dẫn", false_values=("", "no"))

    def validate_respondent(self, field) -> None:
        if not field.data:
            raise ValidationError("Chưa chọn người nào trong danh sách.")
