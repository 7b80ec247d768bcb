// radseal's panel on Orthanc Explorer's instance, series and study pages (loaded by
// radseal_explorer.py through ExtendOrthancExplorer). Orthanc Explorer 1.10 is jQuery Mobile
// with jQuery 1.x: pages are #instance, #series, #study and $.mobile.pageData.uuid names the
// resource. Every value is put in with .text(), never as HTML.
(function () {
  var LEVELS = { instance: 'instances', series: 'series', study: 'studies' };

  function badge(verdict, colour, title) {
    return $('<span class="radseal-badge">')
      .attr('data-verdict', verdict)
      .attr('title', title || '')
      .css({ background: colour, color: '#fff', padding: '2px 10px', 'border-radius': '4px',
             'font-weight': 'bold', 'text-transform': 'uppercase', 'letter-spacing': '0.04em' })
      .text(verdict);
  }

  function line(label, value) {
    return $('<div class="radseal-field">').append($('<b>').text(label + ': '))
      .append($('<span>').text(value || 'not recorded'));
  }

  function instancePanel(p) {
    var box = $('<div>');
    box.append($('<div class="radseal-head">').append(badge(p.verdict, p.colour, p.reason))
      .append($('<span class="radseal-title">').css('margin-left', '8px').text(p.title)));
    if (p.reason) box.append($('<div class="radseal-reason">').text(p.reason));
    if (p.ingestVerdict && p.ingestVerdict !== p.verdict) {
      box.append($('<div class="radseal-ingest">').text('At ingest the verdict was: ' + p.ingestVerdict));
    }
    box.append(line('Device', p.device)).append(line('Technologist', p.technologist)).append(line('Captured', p.capturedAt));
    box.append($('<a class="radseal-report" target="_blank" rel="noopener">').attr('href', p.report).text('Full verification report'));
    return box;
  }

  function groupPanel(p) {
    var box = $('<div>');
    box.append($('<div class="radseal-head">').append(badge(p.verdict, colourOf(p), p.line))
      .append($('<span class="radseal-line">').css('margin-left', '8px').text(p.line)));
    var table = $('<table class="radseal-instances">').css({ 'margin-top': '6px', 'border-collapse': 'collapse' });
    $.each(p.instances, function (_, i) {
      table.append($('<tr>')
        .append($('<td>').append(badge(i.verdict, i.colour, i.reason)))
        .append($('<td>').text(i.device || '—'))
        .append($('<td>').text(i.technologist || '—'))
        .append($('<td>').text(i.capturedAt || '—'))
        .append($('<td>').append($('<a target="_blank" rel="noopener">').attr('href', i.report).text('report'))));
    });
    table.find('td').css({ padding: '2px 8px' });
    return box.append(table);
  }

  function colourOf(p) {
    for (var k = 0; k < p.instances.length; k++) if (p.instances[k].verdict === p.verdict) return p.instances[k].colour;
    return '#5f5f5f';
  }

  function show(page) {
    if (!$.mobile.pageData || !$.mobile.pageData.uuid) return;
    var uuid = $.mobile.pageData.uuid;
    var content = $('#' + page + ' div[data-role="content"]');
    $('#radseal-' + page).remove();
    var panel = $('<div class="radseal-panel">').attr('id', 'radseal-' + page).attr('data-uuid', uuid)
      .css({ border: '1px solid #ccc', 'border-radius': '6px', padding: '8px 12px', margin: '0 0 10px', background: '#fff' })
      .text('radseal: verifying…');
    content.prepend(panel);
    $.ajax({ url: '../radseal/explorer/' + LEVELS[page] + '/' + uuid, dataType: 'json', cache: false,
      success: function (p) {
        if ($.mobile.pageData.uuid !== uuid) return;
        panel.empty().append(page === 'instance' ? instancePanel(p) : groupPanel(p)).attr('data-ready', '1');
      },
      error: function () { panel.text('radseal: no verdict could be obtained').attr('data-ready', 'error'); }
    });
  }

  $.each(LEVELS, function (page) {
    $('#' + page).live('pagebeforeshow', function () { show(page); });
  });
})();
