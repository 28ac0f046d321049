// Canned responses in the composer: typing "/" at the start of a send form's message box
// (a form with data-canned, the URL of GET /chat/{customer}/canned) offers the responses
// rendered for that customer as a listbox under the box. Arrow keys move, Enter or Tab
// inserts, Escape closes; a click inserts too. Inserting puts the rendered text in the box
// and, when the response carries files, a hidden "canned" field so that sending attaches
// them. Events are delegated to the document, so forms the chat script swaps in work too.
(function () {
  'use strict';
  if (window.crmCannedLoaded) {
    return;
  }
  window.crmCannedLoaded = true;

  var counter = 0;
  var pending = null;

  function boxOf(target) {
    if (!target || target.tagName !== 'TEXTAREA' || target.name !== 'text') {
      return null;
    }
    var form = target.closest('form[data-canned]');
    return form ? { form: form, area: target } : null;
  }

  // The listbox of a form, made on first use.
  function listOf(box) {
    var list = box.form.querySelector('.canned-list');
    if (!list) {
      counter += 1;
      list = document.createElement('ul');
      list.className = 'canned-list';
      list.id = 'canned-list-' + counter;
      list.setAttribute('role', 'listbox');
      list.hidden = true;
      box.area.insertAdjacentElement('afterend', list);
      box.area.setAttribute('aria-controls', list.id);
      box.area.setAttribute('aria-autocomplete', 'list');
      box.area.setAttribute('data-canned-open', 'false');
    }
    return list;
  }

  function close(box) {
    var list = box.form.querySelector('.canned-list');
    if (list) {
      list.hidden = true;
      list.innerHTML = '';
    }
    box.area.setAttribute('data-canned-open', 'false');
    box.area.removeAttribute('aria-activedescendant');
  }

  function options(box) {
    return Array.prototype.slice.call(listOf(box).querySelectorAll('[role=option]'));
  }

  function activate(box, index) {
    var all = options(box);
    if (!all.length) {
      return;
    }
    index = (index + all.length) % all.length;
    all.forEach(function (option, at) {
      option.setAttribute('aria-selected', at === index ? 'true' : 'false');
    });
    box.area.setAttribute('aria-activedescendant', all[index].id);
    all[index].scrollIntoView({ block: 'nearest' });
  }

  function activeIndex(box) {
    var all = options(box);
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute('aria-selected') === 'true') {
        return i;
      }
    }
    return -1;
  }

  function clearChoice(form) {
    form.querySelectorAll('input[name=canned], .canned-files').forEach(function (node) {
      node.remove();
    });
  }

  function choose(box, option) {
    box.area.value = option.getAttribute('data-text');
    clearChoice(box.form);
    var files = Number(option.getAttribute('data-files') || 0);
    if (files > 0) {
      var field = document.createElement('input');
      field.type = 'hidden';
      field.name = 'canned';
      field.value = option.getAttribute('data-id');
      box.form.appendChild(field);
      var note = document.createElement('p');
      note.className = 'canned-files';
      note.setAttribute('role', 'status');
      note.textContent = box.form.getAttribute('data-canned-files-note') + ' (' + files + ')';
      box.area.insertAdjacentElement('afterend', note);
    }
    close(box);
    box.area.focus();
    box.area.setSelectionRange(box.area.value.length, box.area.value.length);
  }

  function show(box, data) {
    var list = listOf(box);
    list.innerHTML = '';
    list.setAttribute('aria-label', data.label);
    box.form.setAttribute('data-canned-files-note', data.files_note);
    if (!data.items.length) {
      var empty = document.createElement('li');
      empty.className = 'canned-none';
      empty.textContent = data.none;
      list.appendChild(empty);
    }
    data.items.forEach(function (item, index) {
      var option = document.createElement('li');
      option.id = list.id + '-' + index;
      option.setAttribute('role', 'option');
      option.setAttribute('aria-selected', 'false');
      option.setAttribute('data-id', String(item.id));
      option.setAttribute('data-code', item.code);
      option.setAttribute('data-text', item.text);
      option.setAttribute('data-files', String(item.files));
      var code = document.createElement('code');
      code.textContent = '/' + item.code;
      var title = document.createElement('span');
      title.textContent = ' ' + item.title;
      var text = document.createElement('small');
      text.textContent = item.text.length > 80 ? item.text.slice(0, 80) + '…' : item.text;
      option.appendChild(code);
      option.appendChild(title);
      option.appendChild(document.createElement('br'));
      option.appendChild(text);
      option.addEventListener('mousedown', function (event) {
        event.preventDefault(); // Keep the focus in the message box.
        choose(box, option);
      });
      list.appendChild(option);
    });
    list.hidden = false;
    box.area.setAttribute('data-canned-open', 'true');
    if (data.items.length) {
      activate(box, 0);
    }
  }

  function lookup(box) {
    var match = /^\/(\S*)$/.exec(box.area.value);
    if (!match) {
      close(box);
      return;
    }
    var url = box.form.getAttribute('data-canned') + '?q=' + encodeURIComponent(match[1]);
    var order = box.form.querySelector('[name=order]');
    if (order && order.value) {
      url += '&order=' + encodeURIComponent(order.value);
    }
    var asked = box.area.value;
    pending = asked;
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        // Answer only the latest question, while the box still asks it.
        if (data && pending === asked && box.area.value === asked) {
          show(box, data);
        }
      })
      .catch(function () {});
  }

  document.addEventListener('input', function (event) {
    var box = boxOf(event.target);
    if (!box) {
      return;
    }
    if (!box.area.value) {
      clearChoice(box.form);
    }
    lookup(box);
  });

  document.addEventListener('keydown', function (event) {
    var box = boxOf(event.target);
    if (!box || box.area.getAttribute('data-canned-open') !== 'true') {
      return;
    }
    var index = activeIndex(box);
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      activate(box, index + 1);
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      activate(box, index - 1);
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      var all = options(box);
      if (index >= 0 && all[index]) {
        event.preventDefault();
        choose(box, all[index]);
      } else {
        close(box);
      }
    } else if (event.key === 'Escape') {
      event.preventDefault();
      close(box);
    }
  });

  document.addEventListener('focusout', function (event) {
    var box = boxOf(event.target);
    if (box) {
      close(box);
    }
  });

  document.addEventListener('reset', function (event) {
    if (event.target.matches && event.target.matches('form[data-canned]')) {
      clearChoice(event.target);
    }
  });
})();
