package posts

import (
	"context"

	"github.com/siyuhq/siyu/shared/wecom"
)

// The bodies of add_moment_task and add_msg_template, built from a post.

// momentTask uploads the post's media (a media_id lives 3 days, so this
// happens at send time) and builds add_moment_task's body.
func (s *Service) momentTask(ctx context.Context, p Post) (wecom.MomentTask, error) {
	t := wecom.MomentTask{}
	if p.Text != "" {
		t.Text = &wecom.Text{Content: p.Text}
	}
	for i, a := range p.Attachments {
		src, kind := a.URL, a.Type
		if a.Type == Link {
			src, kind = a.CoverURL, Image
		}
		m, err := s.media(ctx, p, i, kind, src)
		if err != nil {
			return t, err
		}
		id, err := s.upload(ctx, m, s.WeCom.UploadAttachment)
		if err != nil {
			return t, err
		}
		switch a.Type {
		case Image:
			t.Attachments = append(t.Attachments, wecom.MomentAttachment{MsgType: Image, Image: &wecom.MediaRef{MediaID: id}})
		case Video:
			t.Attachments = append(t.Attachments, wecom.MomentAttachment{MsgType: Video, Video: &wecom.MediaRef{MediaID: id}})
		case Link:
			t.Attachments = append(t.Attachments, wecom.MomentAttachment{MsgType: Link, Link: &wecom.MomentLink{Title: a.Title, URL: a.URL, MediaID: id}})
		}
	}
	vr := p.VisibleRange
	if !vr.Everyone() || len(vr.CustomerTags) > 0 {
		t.VisibleRange = &wecom.MomentVisibleRange{}
		if !vr.Everyone() {
			t.VisibleRange.SenderList = &wecom.MomentSenders{UserList: vr.Members, DepartmentList: vr.Departments}
		}
		if len(vr.CustomerTags) > 0 {
			t.VisibleRange.ExternalContactList = &wecom.MomentTags{TagList: vr.CustomerTags}
		}
	}
	return t, nil
}

// msgTemplate builds add_msg_template's body, uploading image and video
// media as temporary media.
func (s *Service) msgTemplate(ctx context.Context, p Post) (wecom.MsgTemplate, error) {
	t := wecom.MsgTemplate{ChatType: p.ChatType, Sender: p.Sender, ExternalUserID: p.ExternalUserIDs, ChatIDList: p.ChatIDs}
	if p.Text != "" {
		t.Text = &wecom.Text{Content: p.Text}
	}
	if len(p.VisibleRange.CustomerTags) > 0 {
		t.TagFilter = &wecom.TagFilter{GroupList: []wecom.TagGroup{{TagList: p.VisibleRange.CustomerTags}}}
	}
	for i, a := range p.Attachments {
		if a.Type == Link {
			t.Attachments = append(t.Attachments, wecom.MsgAttachment{MsgType: Link, Link: &wecom.MsgLink{Title: a.Title, PicURL: a.CoverURL, Desc: a.Desc, URL: a.URL}})
			continue
		}
		m, err := s.media(ctx, p, i, a.Type, a.URL)
		if err != nil {
			return t, err
		}
		id, err := s.upload(ctx, m, s.WeCom.UploadMedia)
		if err != nil {
			return t, err
		}
		if a.Type == Image {
			t.Attachments = append(t.Attachments, wecom.MsgAttachment{MsgType: Image, Image: &wecom.MsgImage{MediaID: id}})
		} else {
			t.Attachments = append(t.Attachments, wecom.MsgAttachment{MsgType: Video, Video: &wecom.MediaRef{MediaID: id}})
		}
	}
	return t, nil
}
