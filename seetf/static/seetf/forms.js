/* SEETF forms, made easier where a script runs; every form works without it.
   - A long multiple choice (select[data-picker]: countries, partners) gets a search box
     above it: typing hides the options that do not match (the chosen ones stay), and a
     line says what is chosen.
   - A text with a limit (data-maxlength) counts its characters as one types.
   - A formset with a template row (fieldset[data-formset]) gets "Add a row" and, on the
     rows it added, "Remove" (the server's "add another" button is hidden then). */
(function () {
  "use strict";
  // The page's language (Django's JavaScript catalogue, /i18n/js/<lang>/, loaded before
  // this script); English as written here when it is missing.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (format, args) {
    return format.replace(/%s/g, function () { return String(args.shift()); });
  };

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function picker(select) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "picker__search";
    box.id = select.id + "_search";
    box.setAttribute("aria-controls", select.id);
    box.setAttribute("data-testid", "picker-search");
    var label = document.createElement("label");
    label.className = "picker__label";
    label.htmlFor = box.id;
    label.textContent = select.dataset.pickerLabel || gettext("Type to find");
    var chosen = document.createElement("p");
    chosen.className = "picker__chosen";
    chosen.setAttribute("aria-live", "polite");
    chosen.setAttribute("data-testid", "picker-chosen");
    select.parentNode.insertBefore(label, select);
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(chosen, select.nextSibling);

    function showChosen() {
      var names = Array.prototype.filter.call(select.options, function (o) {
        return o.selected;
      }).map(function (o) { return o.textContent; });
      chosen.textContent = names.length
        ? interpolate(gettext("Chosen: %s"), [names.join("; ")])
        : gettext("None chosen.");
    }
    box.addEventListener("input", function () {
      var words = fold(box.value).split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.options, function (option) {
        var text = fold(option.textContent);
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        option.hidden = !(match || option.selected);
      });
    });
    // Enter in the search box chooses the first match instead of sending the form.
    box.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var first = Array.prototype.find.call(select.options, function (o) {
        return !o.hidden && !o.selected;
      });
      if (first) {
        first.selected = true;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    select.addEventListener("change", showChosen);
    showChosen();
  }

  function counter(input) {
    var limit = parseInt(input.dataset.maxlength, 10);
    var out = document.createElement("span");
    out.className = "counter";
    out.setAttribute("data-testid", "counter");
    input.parentNode.insertBefore(out, input.nextSibling);
    function update() {
      var n = input.value.length;
      out.textContent = n + " / " + limit;
      out.classList.toggle("counter--over", n > limit);
    }
    input.addEventListener("input", update);
    update();
  }

  function formset(fieldset) {
    var prefix = fieldset.dataset.formset;
    var total = fieldset.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var max = fieldset.querySelector("input[name='" + prefix + "-MAX_NUM_FORMS']");
    var template = fieldset.querySelector("template");
    var rows = fieldset.querySelector("[data-rows]");
    if (!total || !template || !rows) { return; }
    var serverAdd = fieldset.querySelector("[data-server-add]");
    if (serverAdd) { serverAdd.hidden = true; }
    var add = document.createElement("button");
    add.type = "button";
    add.className = "button button--secondary";
    add.textContent = fieldset.dataset.addLabel || gettext("Add a row");
    add.setAttribute("data-testid", "add-row");
    rows.parentNode.insertBefore(add, rows.nextSibling);
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) { return; }
      var html = template.innerHTML.replace(/__prefix__/g, String(index))
        .replace(/__number__/g, String(index + 1));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button--secondary";
      remove.textContent = gettext("Remove this row");
      remove.setAttribute("data-testid", "remove-row");
      remove.addEventListener("click", function () {
        // Only the last added row is removed, so the numbering stays continuous.
        if (row === rows.lastElementChild) {
          rows.removeChild(row);
          total.value = String(parseInt(total.value, 10) - 1);
        } else {
          row.querySelectorAll("input, select, textarea").forEach(function (f) { f.value = ""; });
          row.hidden = true;
        }
      });
      row.appendChild(remove);
      rows.appendChild(row);
      total.value = String(index + 1);
      var first = row.querySelector("select, input");
      if (first) { first.focus(); }
    });
  }

  document.querySelectorAll("select[data-picker]").forEach(picker);
  document.querySelectorAll("[data-maxlength]").forEach(counter);
  document.querySelectorAll("fieldset[data-formset]").forEach(formset);
})();
